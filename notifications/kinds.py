"""The kinds of notification: what each says, who may see it, whether it is e-mailed by
default, and where it leads. One table, so that the bell, the list, the e-mail and the API
all say the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from accounts.models import Role


class Kind(models.TextChoices):
    CAMPAIGN_FINISHED = "campaign_finished", gettext_noop("Campaign finished")
    CAMPAIGN_PAUSED = "campaign_paused", gettext_noop("Campaign paused")
    CAMPAIGN_NOT_STARTED = "campaign_not_started", gettext_noop("Campaign failed to start")
    ACCOUNT_ERROR = "account_error", gettext_noop("Sending account in error")
    ACCOUNT_DAY_CLOSED = (
        "account_day_closed",
        gettext_noop("Sending account's daily limit reached early"),
    )
    IMPORT_DONE = "import_done", gettext_noop("Import finished")
    IMPORT_FAILED = "import_failed", gettext_noop("Import failed")
    WEBHOOK_DISABLED = "webhook_disabled", gettext_noop("Webhook endpoint turned off")
    RATE_WARNING = "rate_warning", gettext_noop("Bounce or complaint rate near its limit")


@dataclass(frozen=True)
class KindInfo:
    text: str | Promise  # lazily translated, with %(name)s for the subject's name as it was
    role: str  # the lowest role that sees it
    email: bool  # e-mailed unless the user said otherwise
    route: str  # the page of the subject, by its id ("" for none)
    route_kwarg: str = ""


KINDS: dict[str, KindInfo] = {
    Kind.CAMPAIGN_FINISHED: KindInfo(
        _("Campaign “%(name)s” finished."), Role.VIEWER, False, "campaigns:detail", "campaign_id"
    ),
    Kind.CAMPAIGN_PAUSED: KindInfo(
        _("Campaign “%(name)s” was paused."), Role.VIEWER, True, "campaigns:detail", "campaign_id"
    ),
    Kind.CAMPAIGN_NOT_STARTED: KindInfo(
        _("Campaign “%(name)s” failed to start."),
        Role.VIEWER,
        True,
        "campaigns:detail",
        "campaign_id",
    ),
    Kind.ACCOUNT_ERROR: KindInfo(
        _("Sending account “%(name)s” is in error and sends nothing until it is fixed."),
        Role.OWNER,
        True,
        "sending:account_detail",
        "account_id",
    ),
    Kind.ACCOUNT_DAY_CLOSED: KindInfo(
        _(
            "Sending account “%(name)s” reached its provider's daily limit before its own: "
            "it sends again tomorrow."
        ),
        Role.OWNER,
        True,
        "sending:account_detail",
        "account_id",
    ),
    Kind.IMPORT_DONE: KindInfo(
        _("Import of “%(name)s” finished."), Role.VIEWER, False, "audience:job_detail", "job_id"
    ),
    Kind.IMPORT_FAILED: KindInfo(
        _("Import of “%(name)s” failed."), Role.VIEWER, True, "audience:job_detail", "job_id"
    ),
    Kind.WEBHOOK_DISABLED: KindInfo(
        _("Webhook endpoint %(name)s was turned off after failing requests."),
        Role.OWNER,
        True,
        "webhooks:endpoint",
        "endpoint_id",
    ),
    Kind.RATE_WARNING: KindInfo(
        _("Campaign “%(name)s” is near its bounce or complaint limit."),
        Role.VIEWER,
        True,
        "campaigns:detail",
        "campaign_id",
    ),
}


def text_of(kind: str, name: str) -> str:
    """The notification's sentence in the active language (escaped where it is shown)."""
    return str(KINDS[kind].text) % {"name": name}


def path_of(kind: str, subject_id: int | None) -> str:
    info = KINDS[kind]
    if subject_id is None or not info.route:
        return ""
    return reverse(info.route, kwargs={info.route_kwarg: subject_id})
