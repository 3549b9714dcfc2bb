"""Resends: a new draft campaign, linked to a finished one, for part of its audience.

Three kinds (campaigns.models.ResendKind): to those whose delivery failed or expired, to those
who did not open it (with a new subject; only when it tracked opens), and to those who joined
its lists since it was sent. They live in tracking, not campaigns, because "did not open"
reads tracking's events.

The audience is fixed when the resend is made (ResendRecipient rows, one INSERT … SELECT) and
the launch sends to those rows only, leaving out again whoever is suppressed or unsubscribed
by then. Nobody gets the same kind of resend twice by accident: a recipient whom an earlier
resend of the same kind of the same campaign reached (or is about to reach: it is a draft or
scheduled, or their delivery is still waiting) is left out unless `include_previous` is asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Exists, OuterRef, QuerySet, Value
from django.utils.translation import gettext, gettext_noop

from accounts.models import User
from audience.models import ListMembership, Recipient, RecipientStatus, Suppression
from campaigns import dashboard
from campaigns.models import (
    OPEN,
    Campaign,
    CampaignStatus,
    Delivery,
    DeliveryStatus,
    ResendKind,
    ResendRecipient,
)
from campaigns.services import CampaignError
from core.single_flight import SingleFlight
from tracking.models import Event, EventKind

# Deliveries that ended without a server taking the message.
FAILED = (
    DeliveryStatus.FAILED,
    DeliveryStatus.NOT_FOUND,
    DeliveryStatus.CONNECTION_ERROR,
    DeliveryStatus.OTHER_ERROR,
    DeliveryStatus.EXPIRED,
)
# A recipient counts as reached by a resend once a server took its message, or while it waits.
REACHED = (DeliveryStatus.SENT, DeliveryStatus.BOUNCED, DeliveryStatus.COMPLAINED, *OPEN)
FINISHED = (CampaignStatus.COMPLETED, CampaignStatus.CANCELLED)
# An open, or a click (which implies one): machine ones too, so that a privacy proxy's reader
# is not sent the message again on a guess.
OPENED = (EventKind.OPENED, EventKind.CLICKED)


class ResendError(CampaignError):
    """A resend cannot be made; the message says why, for the user."""


def tracked_opens(campaign: Campaign) -> bool:
    tracking = (campaign.content or {}).get("tracking") or {}
    return bool(isinstance(tracking, dict) and tracking.get("opens"))


def refusal(campaign: Campaign, kind: str) -> str:
    """Why `campaign` cannot be resent as `kind`, or "" (no database)."""
    # English here (the API says it); marked for the catalog, pages translate it.
    if campaign.status not in FINISHED:
        return gettext_noop("Only a finished campaign can be resent.")
    if campaign.is_single:
        return gettext_noop("A single e-mail is not resent this way.")
    if kind == ResendKind.UNOPENED and not tracked_opens(campaign):
        return gettext_noop("It did not track opens, so nobody is known to have opened it.")
    return ""


def candidates(
    campaign: Campaign, kind: str, *, include_previous: bool = False
) -> QuerySet[Recipient]:
    """The recipients a resend of `kind` would go to now: active, not suppressed, and (unless
    `include_previous`) not reached by an earlier resend of the same kind."""
    base = Recipient.objects.filter(workspace_id=campaign.workspace_id)
    deliveries = Delivery.objects.filter(campaign_id=campaign.pk, recipient_id=OuterRef("pk"))
    if kind == ResendKind.FAILED:
        rows = base.filter(Exists(deliveries.filter(status__in=FAILED)))
    elif kind == ResendKind.UNOPENED:
        opened = Event.objects.filter(delivery_id=OuterRef("pk"), kind__in=OPENED)
        taken = deliveries.filter(status=DeliveryStatus.SENT).exclude(Exists(opened))
        rows = base.filter(Exists(taken))
    elif kind == ResendKind.NEW_MEMBERS:
        joined = ListMembership.objects.filter(
            recipient_id=OuterRef("pk"),
            recipient_list__in=campaign.lists.values("pk"),
            added_at__gt=campaign.launched_at or campaign.created_at,
        )
        rows = base.filter(Exists(joined)).exclude(Exists(deliveries))
    else:
        raise ResendError(gettext("No such kind of resend: %(kind)s.") % {"kind": kind})
    suppressed = Suppression.objects.filter(
        workspace_id=campaign.workspace_id, email=OuterRef("email")
    )
    rows = rows.filter(status=RecipientStatus.ACTIVE).exclude(Exists(suppressed))
    if not include_previous:
        rows = rows.exclude(Exists(_reached_by_earlier(campaign, kind)))
    return rows


def _reached_by_earlier(campaign: Campaign, kind: str) -> QuerySet[ResendRecipient]:
    """Rows of earlier resends of the same kind that reached (or will reach) the recipient."""
    earlier = Campaign.objects.filter(resent_from_id=campaign.pk, resend_kind=kind)
    waiting = earlier.filter(status__in=(CampaignStatus.DRAFT, CampaignStatus.SCHEDULED))
    sent = Delivery.objects.filter(
        campaign_id=OuterRef("campaign_id"), recipient_id=OuterRef("recipient_id")
    ).filter(status__in=REACHED)
    return ResendRecipient.objects.filter(campaign__in=earlier, recipient_id=OuterRef("pk")).filter(
        Exists(sent) | Exists(waiting.filter(pk=OuterRef("campaign_id")))
    )


@dataclass(frozen=True)
class ResendOption:
    """What the report page offers: a kind, how many it would reach, or why not."""

    kind: str
    text: str
    count: int
    refusal: str


# The counts read the campaign's deliveries (a million: 0.4 s), so the report page keeps them
# for a minute like the report itself; making a resend forgets them at once.
OPTIONS_FLIGHT = SingleFlight("resend-options", ttl=60, computing=60)


def resend_options_cached(campaign: Campaign) -> list[ResendOption]:
    """`resend_options`, counted at most once a minute (core.single_flight)."""
    return OPTIONS_FLIGHT.get(campaign.pk, lambda: resend_options(campaign), list)


def resend_options(campaign: Campaign) -> list[ResendOption]:
    """Each kind of resend with its count now (one COUNT each; none when refused)."""
    options = []
    for kind in ResendKind:
        why = refusal(campaign, kind)
        count = 0 if why else candidates(campaign, kind).count()
        options.append(ResendOption(str(kind), kind.label, count, why))
    return options


@dataclass(frozen=True)
class Resend:
    campaign: Campaign
    recipients: int


@transaction.atomic
def campaign_resend(
    *,
    campaign: Campaign,
    kind: str,
    subject: str = "",
    include_previous: bool = False,
    user: User | None = None,
    now: datetime,
) -> Resend:
    """Make a draft resend of a finished `campaign` for the recipients of `kind`, its
    audience fixed now. It keeps the template, accounts, tracking, limits and lifetime;
    its subject is `subject`, else the one the campaign was sent with.

    Raises ResendError when the campaign cannot be resent so (not finished, no open tracking
    for `unopened`, no new subject for `unopened`, nobody to send to).
    """
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    why = refusal(campaign, kind)
    if why:
        raise ResendError(why)
    subject = subject.strip()
    if kind == ResendKind.UNOPENED and not subject:
        raise ResendError(
            gettext_noop("Give the resend a new subject: the first one did not get it opened.")
        )
    resend = _draft(campaign, kind, subject, user, now)
    count = _fix_audience(resend, candidates(campaign, kind, include_previous=include_previous))
    if not count:
        raise ResendError(gettext_noop("Nobody is left to resend it to."))
    dashboard.invalidate(campaign.workspace_id)
    # Now and after the commit: a page counting in between would keep the old counts.
    OPTIONS_FLIGHT.invalidate(campaign.pk)
    transaction.on_commit(lambda: OPTIONS_FLIGHT.invalidate(campaign.pk))
    return Resend(resend, count)


def _draft(
    campaign: Campaign, kind: str, subject: str, user: User | None, now: datetime
) -> Campaign:
    tracking = (campaign.content or {}).get("tracking") or {}
    frozen_subject = str((campaign.content or {}).get("subject") or "")
    label = {
        ResendKind.FAILED: "failed",
        ResendKind.UNOPENED: "not opened",
        ResendKind.NEW_MEMBERS: "new members",
    }[ResendKind(kind)]
    resend = Campaign.objects.create(
        workspace_id=campaign.workspace_id,
        name=f"{campaign.name} (resend: {label})"[:200],
        template_id=campaign.template_id,
        subject=(subject or frozen_subject)[:998],
        resent_from=campaign,
        resend_kind=kind,
        track_opens=tracking.get("opens", campaign.track_opens),
        track_clicks=tracking.get("clicks", campaign.track_clicks),
        utm_source=campaign.utm_source,
        utm_medium=campaign.utm_medium,
        utm_campaign=campaign.utm_campaign,
        max_attempts=campaign.max_attempts,
        lifetime_seconds=campaign.lifetime_seconds,
        created_by=user,
        created_at=now,
        status_changed_at=now,
    )
    resend.accounts.set(campaign.accounts.all())
    return resend


def _fix_audience(resend: Campaign, rows: QuerySet[Recipient]) -> int:
    """Write the resend's recipients with one INSERT … SELECT; returns how many."""
    select = rows.order_by().annotate(_campaign=Value(resend.pk)).values_list("_campaign", "pk")
    sql, params = select.query.sql_with_params()
    table = connection.ops.quote_name(ResendRecipient._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} (campaign_id, recipient_id) {sql}", params)
        return int(cursor.rowcount)
