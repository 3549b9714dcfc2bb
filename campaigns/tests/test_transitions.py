import pytest
from django.utils import translation

from campaigns.models import CampaignStatus as S
from campaigns.transitions import TRANSITIONS, TransitionError, allowed_actions, next_status


@pytest.mark.parametrize(
    ("current", "action", "expected"),
    [
        (S.DRAFT, "schedule", S.SCHEDULED),
        (S.DRAFT, "start", S.RUNNING),
        (S.SCHEDULED, "start", S.RUNNING),
        (S.SCHEDULED, "unschedule", S.DRAFT),
        (S.RUNNING, "pause", S.PAUSED),
        (S.PAUSED, "resume", S.RUNNING),
        (S.RUNNING, "finish", S.COMPLETED),
        (S.PAUSED, "cancel", S.CANCELLED),
        (S.RUNNING, "cancel", S.CANCELLED),
    ],
)
def test_allowed_transitions(current, action, expected):
    assert next_status(current, action) == expected


@pytest.mark.parametrize(
    ("current", "action"),
    [
        (S.COMPLETED, "cancel"),
        (S.CANCELLED, "resume"),
        (S.DRAFT, "pause"),
        (S.SCHEDULED, "pause"),
        (S.RUNNING, "start"),
        (S.PAUSED, "finish"),
    ],
)
def test_refused_transitions_say_why(current, action):
    with pytest.raises(TransitionError, match="campaign cannot be"):
        next_status(current, action)


def test_final_states_allow_nothing():
    assert allowed_actions(S.COMPLETED) == []
    assert allowed_actions(S.CANCELLED) == []
    assert set(allowed_actions(S.RUNNING)) == {"pause", "finish", "cancel"}


PAST = {
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
}


@pytest.mark.parametrize("action", sorted(TRANSITIONS))
def test_every_refusal_is_a_whole_sentence_in_english_and_russian(action):
    """Each refused (state, action) has its own sentence: the English one as it always read,
    and a Russian translation, never words glued together."""
    for current in S.values:
        if current in TRANSITIONS[action]:
            continue
        with pytest.raises(TransitionError) as english:
            next_status(current, action)
        assert str(english.value) == f"A {current} campaign cannot be {PAST[action]}."
        with translation.override("ru"), pytest.raises(TransitionError) as russian:
            next_status(current, action)
        assert str(russian.value).startswith("Кампанию в статусе «"), russian.value
