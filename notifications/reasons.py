"""The reasons notifications give of their own (core.reasons), in the reader's language."""

from django.utils.translation import gettext_noop

from core.reasons import register

DAY_CLOSED = register(
    "account.day_closed",
    gettext_noop(
        "The provider refused more mail from the account for today after %(sent)s of its "
        "daily limit of %(limit)s. Lower the account's daily limit to what the provider "
        "allows, or spread the campaign over more accounts."
    ),
)
