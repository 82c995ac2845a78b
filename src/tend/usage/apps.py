from django.apps import AppConfig


class UsageConfig(AppConfig):
    name = "tend.usage"
    label = "usage"
    verbose_name = "Product usage"
