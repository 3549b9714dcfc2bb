"""The campaign state machine, as a pure function: which action leads from which state where.

    draft ──schedule──▶ scheduled ──start──▶ running ⇄ paused
      └──────────────start──────────────────▶ running ──finish──▶ completed
    draft or scheduled ──queue──▶ launching ──launched──▶ running
                                      └──launch_failed──▶ draft (with the reason)
    any state but completed/cancelled ──cancel──▶ cancelled

`start` launches at once (in the caller's transaction); `queue` leaves the launch to a
worker, so that a person's request answers at once whatever the audience's size.

Services call `next_status` and write the result; nothing here touches the database.
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from campaigns.models import CampaignStatus as S

TRANSITIONS: dict[str, dict[str, str]] = {
    "schedule": {S.DRAFT: S.SCHEDULED},
    "unschedule": {S.SCHEDULED: S.DRAFT},
    "start": {S.DRAFT: S.RUNNING, S.SCHEDULED: S.RUNNING},
    "queue": {S.DRAFT: S.LAUNCHING, S.SCHEDULED: S.LAUNCHING},
    "launched": {S.LAUNCHING: S.RUNNING},
    # Nothing was created: back to a draft that can be fixed and started again.
    "launch_failed": {S.LAUNCHING: S.DRAFT},
    # A scheduled campaign goes back to draft instead: it has launched nothing to pause.
    "pause": {S.RUNNING: S.PAUSED},
    "resume": {S.PAUSED: S.RUNNING},
    "finish": {S.RUNNING: S.COMPLETED},
    "cancel": {S.DRAFT: S.CANCELLED, S.SCHEDULED: S.CANCELLED, S.LAUNCHING: S.CANCELLED,
               S.RUNNING: S.CANCELLED, S.PAUSED: S.CANCELLED},
}  # fmt: skip

FINAL = frozenset({S.COMPLETED, S.CANCELLED})
# The actions that make a campaign send, or wait for its time to send: none is allowed while
# a platform manager has disabled the campaign.
SENDING_ACTIONS = frozenset({"schedule", "start", "queue", "resume"})
EDITABLE = frozenset({S.DRAFT, S.SCHEDULED})


class TransitionError(ValueError):
    """The action is not possible from the current state; the message says why."""


def next_status(current: str, action: str) -> str:
    """The state `action` leads to from `current`, or TransitionError."""
    try:
        targets = TRANSITIONS[action]
    except KeyError as exc:
        raise TransitionError(_("Unknown action %(action)s.") % {"action": repr(action)}) from exc
    if current not in targets:
        raise TransitionError(refusal(current, action))
    return targets[current]


def allowed_actions(current: str, *, disabled: bool = False) -> list[str]:
    """The actions `current` allows; of a disabled campaign, none that makes it send."""
    return [
        action
        for action, targets in TRANSITIONS.items()
        if current in targets and not (disabled and action in SENDING_ACTIONS)
    ]


# Why an action is refused in each state: whole sentences, so that a translation can agree
# its words (an adjective and a verb glued together translate badly).
_REFUSALS: dict[str, dict[str, str]] = {
    "schedule": {
        S.SCHEDULED: gettext_noop("A scheduled campaign cannot be scheduled."),
        S.LAUNCHING: gettext_noop("A launching campaign cannot be scheduled."),
        S.RUNNING: gettext_noop("A running campaign cannot be scheduled."),
        S.PAUSED: gettext_noop("A paused campaign cannot be scheduled."),
        S.COMPLETED: gettext_noop("A completed campaign cannot be scheduled."),
        S.CANCELLED: gettext_noop("A cancelled campaign cannot be scheduled."),
    },
    "unschedule": {
        S.DRAFT: gettext_noop("A draft campaign cannot be unscheduled."),
        S.LAUNCHING: gettext_noop("A launching campaign cannot be unscheduled."),
        S.RUNNING: gettext_noop("A running campaign cannot be unscheduled."),
        S.PAUSED: gettext_noop("A paused campaign cannot be unscheduled."),
        S.COMPLETED: gettext_noop("A completed campaign cannot be unscheduled."),
        S.CANCELLED: gettext_noop("A cancelled campaign cannot be unscheduled."),
    },
    "start": {
        S.LAUNCHING: gettext_noop("A launching campaign cannot be started."),
        S.RUNNING: gettext_noop("A running campaign cannot be started."),
        S.PAUSED: gettext_noop("A paused campaign cannot be started."),
        S.COMPLETED: gettext_noop("A completed campaign cannot be started."),
        S.CANCELLED: gettext_noop("A cancelled campaign cannot be started."),
    },
    "launched": {
        S.DRAFT: gettext_noop("A draft campaign cannot be launched."),
        S.SCHEDULED: gettext_noop("A scheduled campaign cannot be launched."),
        S.RUNNING: gettext_noop("A running campaign cannot be launched."),
        S.PAUSED: gettext_noop("A paused campaign cannot be launched."),
        S.COMPLETED: gettext_noop("A completed campaign cannot be launched."),
        S.CANCELLED: gettext_noop("A cancelled campaign cannot be launched."),
    },
    "pause": {
        S.DRAFT: gettext_noop("A draft campaign cannot be paused."),
        S.SCHEDULED: gettext_noop("A scheduled campaign cannot be paused."),
        S.LAUNCHING: gettext_noop("A launching campaign cannot be paused."),
        S.PAUSED: gettext_noop("A paused campaign cannot be paused."),
        S.COMPLETED: gettext_noop("A completed campaign cannot be paused."),
        S.CANCELLED: gettext_noop("A cancelled campaign cannot be paused."),
    },
    "resume": {
        S.DRAFT: gettext_noop("A draft campaign cannot be resumed."),
        S.SCHEDULED: gettext_noop("A scheduled campaign cannot be resumed."),
        S.LAUNCHING: gettext_noop("A launching campaign cannot be resumed."),
        S.RUNNING: gettext_noop("A running campaign cannot be resumed."),
        S.COMPLETED: gettext_noop("A completed campaign cannot be resumed."),
        S.CANCELLED: gettext_noop("A cancelled campaign cannot be resumed."),
    },
    "finish": {
        S.DRAFT: gettext_noop("A draft campaign cannot be finished."),
        S.SCHEDULED: gettext_noop("A scheduled campaign cannot be finished."),
        S.LAUNCHING: gettext_noop("A launching campaign cannot be finished."),
        S.PAUSED: gettext_noop("A paused campaign cannot be finished."),
        S.COMPLETED: gettext_noop("A completed campaign cannot be finished."),
        S.CANCELLED: gettext_noop("A cancelled campaign cannot be finished."),
    },
    "cancel": {
        S.COMPLETED: gettext_noop("A completed campaign cannot be cancelled."),
        S.CANCELLED: gettext_noop("A cancelled campaign cannot be cancelled."),
    },
}
# Actions refused in the same words as another.
_WORDED_AS = {"queue": "start", "launch_failed": "launched"}


def refusal(current: str, action: str) -> str:
    """Why `action` is refused to a campaign in state `current`, in the active language."""
    sentence = _REFUSALS.get(_WORDED_AS.get(action, action), {}).get(current)
    if sentence is None:  # a state this code does not know: said as it is stored
        return _("A campaign in state %(state)s cannot be changed so.") % {"state": current}
    return _(sentence)
