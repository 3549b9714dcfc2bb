from django.apps import AppConfig


class PostroomConfig(AppConfig):
    name = "postroom"
    verbose_name = "Postroom"
