from django.apps import AppConfig


class SupportConfig(AppConfig):
    name = "tend.support"
    label = "support"
    verbose_name = "Support"
