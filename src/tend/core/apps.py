from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "tend.core"
    label = "core"
    verbose_name = "Team and audit"
