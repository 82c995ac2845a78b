from django.apps import AppConfig


class SurveysConfig(AppConfig):
    name = "tend.surveys"
    label = "surveys"
    verbose_name = "Surveys"
