"""The reasons tracking gives for pausing a campaign (core.reasons): English in the API, the
reader's language on pages and in notifications."""

from django.utils.translation import gettext_noop

from core.reasons import register

COMPLAINT_RATE = register(
    "campaign.complaint_rate",
    gettext_noop(
        "Paused: %(complained)s complaints in %(taken)s delivered messages (%(rate)s%%, over "
        "%(limit)s%%). Check the audience's consent and the content before resuming."
    ),
)
WARMUP_COMPLAINTS = register(
    "warmup.complaint_rate",
    gettext_noop(
        "Held: %(complained)s complaints in %(taken)s delivered messages (%(rate)s%%, over "
        "%(limit)s%%)."
    ),
)
WARMUP_BOUNCES = register(
    "warmup.bounce_rate",
    gettext_noop(
        "Held: %(bounced)s bounces in %(taken)s delivered messages (%(rate)s%%, over %(limit)s%%)."
    ),
)
BOUNCE_RATE = register(
    "campaign.bounce_rate",
    gettext_noop(
        "Paused: %(bounced)s bounces in %(taken)s delivered messages (%(rate)s%%, over "
        "%(limit)s%%). Clean the list before resuming."
    ),
)
