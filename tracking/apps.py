from django.apps import AppConfig


class TrackingConfig(AppConfig):
    name = "tracking"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Lower layers ask questions only tracking can answer; it answers them here, so they
        # import nothing of tracking and look up none of its models by name.
        from audience import engagement
        from campaigns import links
        from tracking import reasons, selectors  # noqa: F401 - reasons registers its own

        engagement.answer_with(selectors.human_events_exist)
        links.mailbox_check_with(selectors.has_feedback_mailbox)
