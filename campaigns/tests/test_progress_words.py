"""The time a campaign still needs is said in the reader's language."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import translation

from campaigns.selectors import Progress


def _left(eta: timedelta | None) -> Progress:
    return Progress(counts={}, total=10, rate_per_minute=1.0, eta=eta)


@pytest.mark.parametrize(
    ("eta", "english", "russian"),
    [
        (None, "", ""),
        (timedelta(seconds=30), "under a minute", "меньше минуты"),
        (timedelta(minutes=7), "about 7 min", "около 7 мин"),
        (timedelta(hours=2, minutes=5), "about 2 h 5 min", "около 2 ч 5 мин"),
        (timedelta(days=3, hours=4), "about 3 d 4 h", "около 3 дн. 4 ч"),
    ],
)
def test_time_to_finish_in_both_languages(eta, english, russian):
    with translation.override("en"):
        assert _left(eta).eta_text == english
    with translation.override("ru"):
        assert _left(eta).eta_text == russian
