from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "tend.demo"
    label = "demo"
    verbose_name = "Demo company"
