"""What the campaign API views share: refusals of the services as HTTP answers, checked query
parameters, and the progress figures of a campaign."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import serializers

from accounts.models import Workspace
from audience.segments import SegmentError
from campaigns import selectors
from campaigns.editing import CampaignData, audience_problems, campaign_problems
from campaigns.models import Campaign
from campaigns.serializers import full_counts, problem_field
from campaigns.services import CampaignError, CampaignNotAllowed
from core.api.errors import Conflict
from core.api.params import MAX_ID, parse_moment
from core.digits import is_number


class CampaignConflict(Conflict):
    """409: what was asked is not possible in the object's current state, which it names."""

    def __init__(self, message: str, *, code: str, current_status: str) -> None:
        super().__init__(message, code, current_status=current_status)


def segment_unusable(exc: Exception) -> str:
    return _("A segment of this campaign cannot be used: %(error)s") % {"error": exc}


def not_ready(message: str, code: str = "campaign_not_ready") -> serializers.ValidationError:
    """400 for a campaign that cannot do what was asked until it is completed (no template,
    no account, a segment that no longer compiles)."""
    return serializers.ValidationError(message, code=code)


def run_transition(campaign: Campaign, action: str, call: Callable[[], object]) -> Campaign:
    """Run the service behind `action` (send, schedule, pause, …) and return the campaign as
    it is afterwards. A state that does not allow the action is a 409 naming the state; any
    other refusal of the service is a 400 with its message."""
    try:
        call()
    except CampaignNotAllowed as exc:
        raise CampaignConflict(
            str(exc), code="transition_not_allowed", current_status=exc.status
        ) from exc
    except CampaignError as exc:
        raise not_ready(str(exc)) from exc
    except SegmentError as exc:
        raise not_ready(segment_unusable(exc), "segment_error") from exc
    return Campaign.objects.get(pk=campaign.pk)


def raise_problems(
    workspace: Workspace, data: CampaignData, names: dict[str, str], *, fixed_audience: bool = False
) -> None:
    """400 with every problem of `data` under the API's field names (`names` renames more,
    for the e-mail burst's fields); nothing when the services would accept it. A campaign with
    a `fixed_audience` (a resend) needs no lists, segments or picked recipients."""
    problems = campaign_problems(workspace, data, timezone.now())
    if not fixed_audience:
        problems += audience_problems(data)
    errors: dict[str, list[str]] = {}
    for name, message in problems:
        field = problem_field(name, data.schedule_mode)
        errors.setdefault(names.get(field, field), []).append(message)
    if errors:
        raise serializers.ValidationError(errors)


def stats_of(campaign: Campaign) -> dict[str, Any]:
    """The figures of the campaign page's progress bar."""
    progress = selectors.campaign_progress(campaign)
    return {
        "campaign_id": campaign.pk,
        "status": campaign.status,
        "counts": full_counts(progress.counts),
        "total": progress.total,
        "waiting": progress.waiting,
        "done": progress.done,
        "percent": progress.percent,
        "rate_per_minute": round(progress.rate_per_minute, 1),
        "eta_seconds": int(progress.eta.total_seconds()) if progress.eta else None,
        "eta_text": progress.eta_text,
        "finishes_at": progress.finishes_at,
        "held": progress.hold.text if progress.hold else "",
        "resumes_at": progress.hold.resumes_at if progress.hold else None,
    }


# --------------------------------------------------------------------------- query parameters


def _bad(name: str, message: str) -> serializers.ValidationError:
    return serializers.ValidationError({name: [message]})


def int_param(params: QueryDict, name: str) -> int | None:
    raw = params.get(name, "").strip()
    if not raw:
        return None
    if not is_number(raw) or int(raw) > MAX_ID:
        raise _bad(name, "Give an id (a whole number).")
    return int(raw)


def choice_param(params: QueryDict, name: str, choices: list[str]) -> str:
    raw = str(params.get(name, "")).strip()
    if raw and raw not in choices:
        raise _bad(name, f"Give one of: {', '.join(choices)}.")
    return raw


def time_param(params: QueryDict, name: str, workspace: Workspace) -> datetime | None:
    """An ISO date-time, or a date (its local midnight in the workspace's time zone); a time
    without a zone is taken in the workspace's zone too."""
    raw = params.get(name, "").strip()
    if not raw:
        return None
    moment = parse_moment(raw, workspace.zone)
    if moment is None:
        raise _bad(name, "Give a date (2026-05-31) or an ISO date-time.")
    return moment
