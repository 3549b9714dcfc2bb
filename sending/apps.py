from django.apps import AppConfig


class SendingConfig(AppConfig):
    name = "sending"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from sending import checks  # noqa: F401 - registers the system checks
