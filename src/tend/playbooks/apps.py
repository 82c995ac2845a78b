from django.apps import AppConfig


class PlaybooksConfig(AppConfig):
    name = "tend.playbooks"
    label = "playbooks"
    verbose_name = "Playbooks"
