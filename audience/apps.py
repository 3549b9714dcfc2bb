from django.apps import AppConfig


class AudienceConfig(AppConfig):
    name = "audience"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from audience import reasons  # noqa: F401 - registers the reasons pages translate
