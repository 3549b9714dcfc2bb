"""The reasons campaigns gives for a change of status (core.reasons): English in the API,
the reader's language on pages and in notifications."""

from django.utils.translation import gettext_noop

from core.reasons import register

LAUNCH_FAILED = register(
    "campaign.launch_failed",
    gettext_noop("The launch failed, nothing was sent: %(problem)s. Fix it and start again."),
)
POLICY_REFUSALS = register(
    "campaign.policy_refusals",
    gettext_noop(
        "Paused after %(refused)s policy refusals (5.7.x): check the accounts' reputation and "
        "the content before resuming."
    ),
)
PAUSED_BY_COMMAND = register("campaign.paused_by_command", gettext_noop("Paused by command."))

# Refusals of a start: said at once to whoever starts, or stored when a scheduled start fails.
NO_TEMPLATE = register("campaign.no_template", gettext_noop("Choose a template first."))
NO_ACCOUNT = register("campaign.no_account", gettext_noop("Choose at least one sending account."))
TEMPLATE_ERROR = register(
    "campaign.template_error", gettext_noop("The template “%(template)s” has an error: %(problem)s")
)
