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
        raise TransitionError(f"Unknown action {action!r}.") from exc
    if current not in targets:
        label = S(current).label.lower() if current in S.values else current
        raise TransitionError(f"A {label} campaign cannot be {_past(action)}.")
    return targets[current]


def allowed_actions(current: str, *, disabled: bool = False) -> list[str]:
    """The actions `current` allows; of a disabled campaign, none that makes it send."""
    return [
        action
        for action, targets in TRANSITIONS.items()
        if current in targets and not (disabled and action in SENDING_ACTIONS)
    ]


def _past(action: str) -> str:
    return {
        "schedule": "scheduled",
        "unschedule": "unscheduled",
        "start": "started",
        "queue": "started",
        "launched": "launched",
        "launch_failed": "launched",
        "pause": "paused",
        "resume": "resumed",
        "finish": "finished",
        "cancel": "cancelled",
    }[action]
