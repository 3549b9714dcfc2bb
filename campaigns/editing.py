"""Writes behind the campaign pages: create, change, schedule, delete, single e-mails, send now.

The state machine and the engine's writes live in `campaigns.services`; these functions only
prepare campaigns and hand them to it. Each one bumps the workspace's dashboard version so the
cached figures are recomputed on the next visit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.audit import services as audit
from accounts.models import User, Workspace
from audience.models import Recipient, RecipientList, Segment
from campaigns import dashboard
from campaigns.ab_tests import (
    AbTestSetup,
    ab_content_names_refresh,
    ab_content_problems,
    ab_test_apply,
    ab_test_problems,
    ab_test_setup_of,
)
from campaigns.archive import ArchiveValuesError, clean_archive_values
from campaigns.frozen_files import delete_frozen_files
from campaigns.models import (
    DAY_SECONDS,
    DEFAULT_LIFETIME_DAYS,
    LIFETIME_DAYS_MAX,
    WAITING,
    Campaign,
    CampaignStatus,
    Delivery,
    ScheduleMode,
)
from campaigns.services import (
    CampaignError,
    CampaignNotAllowed,
    CampaignNotReady,
    campaign_queue_launch,
    campaign_start,
    freeze_content,
    move_status,
    not_allowed_unless,
)
from campaigns.transitions import EDITABLE
from content.models import Template
from sending.models import AccountStatus, SendingAccount


@dataclass
class CampaignData:
    """What a person chooses for a campaign; ids are checked against the workspace."""

    name: str
    template_id: int | None
    account_ids: list[int]
    list_ids: list[int] = field(default_factory=list)
    segment_ids: list[int] = field(default_factory=list)
    picked: dict[str, Any] = field(default_factory=dict)
    schedule_mode: str = ScheduleMode.NOW
    scheduled_at: datetime | None = None
    window_end: datetime | None = None
    # None: as the workspace's setting when the campaign starts.
    track_opens: bool | None = None
    track_clicks: bool | None = None
    utm_source: str = ""
    utm_medium: str = ""
    utm_campaign: str = ""
    lifetime_days: int = DEFAULT_LIFETIME_DAYS
    # The public archive: shown there once sent, with these values instead of anyone's.
    archived: bool = False
    archive_values: dict[str, str] = field(default_factory=dict)
    # The A/B test; only written when `ab_test_given` (an API call that does not name it
    # keeps the campaign's). None: no test.
    ab_test: AbTestSetup | None = None
    ab_test_given: bool = False


def campaign_problems(
    workspace: Workspace, data: CampaignData, now: datetime
) -> list[tuple[str, str]]:
    """Every reason `data` cannot be saved, as (field name, message); empty when it can.
    The messages are English (the API says them), marked for the catalog: forms translate them."""
    problems: list[tuple[str, str]] = []
    template = _template(workspace, data.template_id)
    if template is None:
        problems.append(("template", gettext_noop("Choose a template.")))
    else:
        try:
            freeze_content(Campaign(workspace=workspace), template)
        except CampaignError as exc:
            problems.append(("template", str(exc)))
    if not _accounts(workspace, data.account_ids):
        problems.append(("accounts", gettext_noop("Choose at least one active sending account.")))
    problems.extend(_schedule_problems(data, now))
    if not 1 <= data.lifetime_days <= LIFETIME_DAYS_MAX:
        problems.append(("lifetime_days", f"Choose between 1 and {LIFETIME_DAYS_MAX} days."))
    try:
        clean_archive_values(workspace, data.archive_values)
    except ArchiveValuesError as exc:
        problems.append(("archive_values", str(exc)))
    if data.ab_test_given and data.ab_test is not None:
        problems.extend((f"ab_{name}", message) for name, message in ab_test_problems(data.ab_test))
        problems.extend(
            (f"ab_{name}", message)
            for name, message in ab_content_problems(workspace.pk, data.ab_test, data.template_id)
        )
        if data.ab_test.wait_hours >= data.lifetime_days * 24:
            # The lifetime counts from the launch: the rest would expire as soon as it is made.
            problems.append(
                (
                    "ab_wait_hours",
                    gettext_noop("The wait must end before the campaign gives up (its lifetime)."),
                )
            )
    return problems


def audience_problems(data: CampaignData) -> list[tuple[str, str]]:
    """The editor's rule that a campaign names who receives it (a list, a segment or picked
    recipients); the API keeps it too."""
    if data.list_ids or data.segment_ids or data.picked:
        return []
    return [
        (
            "audience",
            gettext_noop("Choose who receives it: a list, a segment or picked recipients."),
        )
    ]


def _schedule_problems(data: CampaignData, now: datetime) -> list[tuple[str, str]]:
    if data.schedule_mode == ScheduleMode.NOW:
        return []
    if data.scheduled_at is None:
        return [("scheduled_at", gettext_noop("Choose when to send."))]
    problems = []
    if data.scheduled_at < now and data.schedule_mode == ScheduleMode.AT:
        problems.append(("scheduled_at", gettext_noop("This time is in the past.")))
    if data.schedule_mode == ScheduleMode.WINDOW:
        if data.window_end is None:
            problems.append(("window_end", gettext_noop("Choose when the window ends.")))
        elif data.window_end <= data.scheduled_at:
            problems.append(("window_end", gettext_noop("The window must end after it starts.")))
        elif data.window_end <= now:
            problems.append(("window_end", gettext_noop("This window is over already.")))
    return problems


def _template(workspace: Workspace, template_id: int | None) -> Template | None:
    if template_id is None:
        return None
    return Template.objects.filter(workspace=workspace, pk=template_id).first()


def _accounts(workspace: Workspace, ids: list[int]) -> list[SendingAccount]:
    return list(
        SendingAccount.objects.filter(workspace=workspace, pk__in=ids, status=AccountStatus.ACTIVE)
    )


def _apply(campaign: Campaign, data: CampaignData) -> None:
    """Write `data` onto a saved campaign; ids of other workspaces are ignored."""
    workspace = campaign.workspace
    campaign.name = data.name.strip()[:200] or "Untitled campaign"
    campaign.template_id = data.template_id
    campaign.picked = data.picked
    campaign.schedule_mode = data.schedule_mode
    at = data.scheduled_at if data.schedule_mode != ScheduleMode.NOW else None
    campaign.scheduled_at = at
    window = data.schedule_mode == ScheduleMode.WINDOW
    campaign.window_end = data.window_end if window else None
    campaign.track_opens, campaign.track_clicks = data.track_opens, data.track_clicks
    campaign.utm_source = data.utm_source.strip()[:100]
    campaign.utm_medium = data.utm_medium.strip()[:100]
    campaign.utm_campaign = data.utm_campaign.strip()[:100]
    campaign.lifetime_seconds = data.lifetime_days * DAY_SECONDS
    campaign.archived = data.archived
    campaign.archive_values = clean_archive_values(workspace, data.archive_values)
    campaign.save()
    campaign.accounts.set(_accounts(workspace, data.account_ids))
    campaign.lists.set(RecipientList.objects.filter(workspace=workspace, pk__in=data.list_ids))
    campaign.segments.set(Segment.objects.filter(workspace=workspace, pk__in=data.segment_ids))
    if data.ab_test_given:
        ab_test_apply(campaign=campaign, setup=data.ab_test)
    ab_content_names_refresh(campaign=campaign)


def _check(workspace: Workspace, data: CampaignData) -> None:
    problems = campaign_problems(workspace, data, timezone.now())
    if problems:
        raise CampaignNotReady(problems[0][1])


@transaction.atomic
def campaign_create(
    *, workspace: Workspace, user: User | None, data: CampaignData, is_single: bool = False
) -> Campaign:
    """A new draft campaign. Raises CampaignError with the first problem of `data`."""
    _check(workspace, data)
    campaign = Campaign(workspace=workspace, created_by=user, is_single=is_single)
    _apply(campaign, data)
    dashboard.invalidate(workspace.pk)
    return campaign


@transaction.atomic
def campaign_update(*, campaign: Campaign, data: CampaignData) -> Campaign:
    """Change a draft or scheduled campaign (a scheduled one stays scheduled at its new time).

    Raises CampaignError once the campaign has started, or with the first problem of `data`.
    """
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    not_allowed_unless(campaign, EDITABLE, _("Only draft and scheduled campaigns can be changed."))
    _check(campaign.workspace, data)
    _apply(campaign, data)
    if campaign.status == CampaignStatus.SCHEDULED and data.schedule_mode == ScheduleMode.NOW:
        move_status(campaign, "unschedule", timezone.now())
    dashboard.invalidate(campaign.workspace_id)
    return campaign


@transaction.atomic
def campaign_start_as_planned(*, campaign: Campaign, wait: bool = False) -> str:
    """The page's Start button, as the campaign was planned: send now (launching: a worker
    creates the deliveries, so the request does not wait for them), or wait for the
    campaign's time (scheduled). The API's send is `services.campaign_queue_launch`, which
    always sends now: its caller said "now" (the API schedules with its own action). With
    `wait` a campaign sent now is launched here, in this transaction (a single e-mail).

    Returns the new status. Raises CampaignError when the campaign cannot start (state, no
    template or account, a template with an error, a time that has passed).
    """
    campaign = Campaign.objects.select_for_update().select_related("workspace").get(pk=campaign.pk)
    not_allowed_unless(
        campaign,
        EDITABLE,
        _("A campaign that is %(status)s cannot start.")
        % {"status": campaign.get_status_display().lower()},
    )
    if campaign.schedule_mode == ScheduleMode.NOW or campaign.status == CampaignStatus.SCHEDULED:
        if wait:
            campaign_start(campaign=campaign)
        else:
            campaign_queue_launch(campaign=campaign)
    else:
        _check(campaign.workspace, campaign_data(campaign))
        move_status(campaign, "schedule", timezone.now())
    dashboard.invalidate(campaign.workspace_id)
    return Campaign.objects.values_list("status", flat=True).get(pk=campaign.pk)


def campaign_data(campaign: Campaign) -> CampaignData:
    """What the campaign holds now, as the editing services take it (to change a part)."""
    return CampaignData(
        name=campaign.name,
        template_id=campaign.template_id,
        account_ids=list(campaign.accounts.values_list("pk", flat=True)),
        list_ids=list(campaign.lists.values_list("pk", flat=True)),
        segment_ids=list(campaign.segments.values_list("pk", flat=True)),
        picked=dict(campaign.picked or {}),
        schedule_mode=campaign.schedule_mode,
        scheduled_at=campaign.scheduled_at,
        window_end=campaign.window_end,
        track_opens=campaign.track_opens,
        track_clicks=campaign.track_clicks,
        utm_source=campaign.utm_source,
        utm_medium=campaign.utm_medium,
        utm_campaign=campaign.utm_campaign,
        lifetime_days=campaign.lifetime_days,
        archived=campaign.archived,
        archive_values=dict(campaign.archive_values or {}),
        ab_test=ab_test_setup_of(campaign),
    )


@transaction.atomic
def campaign_set_archive(
    *, campaign: Campaign, archived: bool, archive_values: dict[str, str] | None = None
) -> Campaign:
    """Show the campaign in the public archive or not, in any state (a campaign is usually
    published after it was sent); `archive_values` None keeps the values it has.

    Raises CampaignError for values that are not the workspace's placeholders or not text.
    """
    campaign = Campaign.objects.select_for_update().select_related("workspace").get(pk=campaign.pk)
    fields = ["archived"]
    campaign.archived = archived
    if archive_values is not None:
        try:
            campaign.archive_values = clean_archive_values(campaign.workspace, archive_values)
        except ArchiveValuesError as exc:
            raise CampaignNotReady(str(exc)) from exc
        fields.append("archive_values")
    campaign.save(update_fields=fields)
    return campaign


@transaction.atomic
def campaign_schedule(
    *,
    campaign: Campaign,
    schedule_mode: str,
    scheduled_at: datetime,
    window_end: datetime | None = None,
) -> Campaign:
    """Set when a draft or scheduled campaign sends (a time, or a start/end window) and wait
    for it: the campaign is scheduled afterwards.

    Raises CampaignError once the campaign has started, or with the first problem of the
    campaign at its new time (a past time, a window that ends before it starts, no template).
    """
    campaign = Campaign.objects.select_for_update().select_related("workspace").get(pk=campaign.pk)
    not_allowed_unless(
        campaign,
        EDITABLE,
        _("A campaign that is %(status)s cannot be scheduled.")
        % {"status": campaign.get_status_display().lower()},
    )
    if schedule_mode not in (ScheduleMode.AT, ScheduleMode.WINDOW):
        raise CampaignNotReady(_("Choose a time or a window to schedule."))
    data = campaign_data(campaign)
    data.schedule_mode, data.scheduled_at = schedule_mode, scheduled_at
    data.window_end = window_end if schedule_mode == ScheduleMode.WINDOW else None
    _check(campaign.workspace, data)
    campaign.schedule_mode = data.schedule_mode
    campaign.scheduled_at, campaign.window_end = data.scheduled_at, data.window_end
    campaign.save(update_fields=["schedule_mode", "scheduled_at", "window_end"])
    if campaign.status == CampaignStatus.DRAFT:
        move_status(campaign, "schedule", timezone.now())
    dashboard.invalidate(campaign.workspace_id)
    return campaign


@transaction.atomic
def campaign_unschedule(*, campaign: Campaign) -> Campaign:
    """Back to draft, so that a scheduled campaign does not start at its time."""
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    move_status(campaign, "unschedule", timezone.now())
    dashboard.invalidate(campaign.workspace_id)
    return campaign


@transaction.atomic
def campaign_delete(*, campaign: Campaign) -> None:
    """Delete a campaign with its deliveries and attempts; never one that may be sending."""
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status in (CampaignStatus.LAUNCHING, CampaignStatus.RUNNING, CampaignStatus.PAUSED):
        raise CampaignNotAllowed(
            _("Cancel the campaign before deleting it."), status=campaign.status
        )
    workspace_id = campaign.workspace_id
    content = dict(campaign.content)
    audit.record("campaign.deleted", workspace=campaign.workspace, target=campaign)
    campaign.delete()
    transaction.on_commit(lambda: delete_frozen_files(content))
    # Its attempts are gone from past days too.
    dashboard.invalidate(workspace_id, history=True)


@transaction.atomic
def email_queue_single(
    *,
    workspace: Workspace,
    user: User | None,
    recipient: Recipient,
    template_id: int | None,
    account_id: int | None,
    send_at: datetime | None = None,
) -> Campaign:
    """Queue one e-mail to one recipient: a single campaign, started now or scheduled.

    Raises CampaignError (no template, no account, a template with an error, a past time, a
    recipient who cannot receive mail: then nothing is saved).
    """
    if recipient.workspace_id != workspace.pk:
        raise CampaignNotReady(_("This recipient does not exist."))
    data = CampaignData(
        name=f"E-mail to {recipient.email}",
        template_id=template_id,
        account_ids=[account_id] if account_id is not None else [],
        picked={"ids": [recipient.pk]},
        schedule_mode=ScheduleMode.AT if send_at else ScheduleMode.NOW,
        scheduled_at=send_at,
    )
    campaign = campaign_create(workspace=workspace, user=user, data=data, is_single=True)
    # One recipient: its answer says if it can.
    campaign_start_as_planned(campaign=campaign, wait=True)
    campaign.refresh_from_db()
    if campaign.status == CampaignStatus.RUNNING and not campaign.audience_total:
        raise CampaignNotReady(
            _("%(email)s cannot receive mail (unsubscribed or suppressed).")
            % {"email": recipient.email}
        )
    return campaign


@transaction.atomic
def delivery_send_now(*, delivery: Delivery) -> Delivery:
    """Make a queued or deferred delivery due at once (the next worker round sends it).

    Raises CampaignError when it is not waiting any more (sent, failed, …) or its campaign
    is not running.
    """
    delivery = Delivery.objects.select_for_update().select_related("campaign").get(pk=delivery.pk)
    if delivery.status not in WAITING:
        raise CampaignNotAllowed(
            _("This message is %(status)s.") % {"status": delivery.get_status_display().lower()},
            status=delivery.status,
        )
    if delivery.campaign.status != CampaignStatus.RUNNING:
        raise CampaignNotAllowed(_("Its campaign is not running."), status=delivery.campaign.status)
    delivery.next_attempt_at = timezone.now()
    delivery.updated_at = delivery.next_attempt_at
    delivery.save(update_fields=["next_attempt_at", "updated_at"])
    return delivery
