from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and workspaces"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from accounts.api import schema  # noqa: F401 - registers the OpenAPI auth extensions
        from accounts.signals import record_session

        user_logged_in.connect(record_session, dispatch_uid="accounts.record_session")
