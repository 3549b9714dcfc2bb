from django.apps import AppConfig


class ApiKeysConfig(AppConfig):
    """Workspace API keys. The label stays "api" (the app they were made in), so their table,
    migrations and content types are those already in every database."""

    name = "accounts.keys"
    label = "api"
    verbose_name = "API keys"
    default_auto_field = "django.db.models.BigAutoField"
