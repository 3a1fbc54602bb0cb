from django.apps import AppConfig


class InversionConfig(AppConfig):
    name = "inversion"
    verbose_name = "Inversion (repositories, gold environments, episodes)"
