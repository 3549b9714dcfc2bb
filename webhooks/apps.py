from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Outgoing webhooks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from campaigns.signals import campaign_status_changed
        from webhooks.receivers import on_campaign_status_changed

        campaign_status_changed.connect(
            on_campaign_status_changed, dispatch_uid="webhooks.campaign_status_changed"
        )
