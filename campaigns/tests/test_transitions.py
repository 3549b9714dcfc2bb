import pytest

from campaigns.models import CampaignStatus as S
from campaigns.transitions import TransitionError, allowed_actions, next_status


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
