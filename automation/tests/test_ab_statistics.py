"""The A/B test's arithmetic: the z-test against known values, the winner on ties, and the
verdict's wording in both languages."""

from __future__ import annotations

import pytest
from django.utils import translation

from automation.ab_reports import measure_name
from automation.statistics import VariantFigures, leader, two_proportion_p, verdict
from campaigns.models import AbCriterion


def fig(label: str, sent: int, successes: int) -> VariantFigures:
    return VariantFigures("ABCDE".index(label), label, sent, successes)


def test_p_value_matches_a_textbook_two_proportion_test():
    # 45/100 against 30/100: pooled 0.375, z = 2.191, p = 0.0285 (two-sided)
    assert two_proportion_p(fig("A", 100, 45), fig("B", 100, 30)) == pytest.approx(0.0285, abs=1e-4)
    # 12/100 against 8/100: z = 0.9438, p = 0.345
    assert two_proportion_p(fig("A", 100, 12), fig("B", 100, 8)) == pytest.approx(0.3453, abs=1e-3)


@pytest.mark.parametrize(
    ("a", "b"), [(fig("A", 0, 0), fig("B", 10, 3)), (fig("A", 10, 0), fig("B", 10, 0))]
)
def test_p_value_is_none_where_it_means_nothing(a, b):
    assert two_proportion_p(a, b) is None


def test_the_leader_is_the_highest_rate_and_the_earlier_on_a_tie():
    assert leader([fig("A", 10, 2), fig("B", 20, 6), fig("C", 10, 3)]).label == "B"
    assert leader([fig("C", 10, 3), fig("B", 10, 3), fig("A", 10, 1)]).label == "B"


def test_a_small_difference_is_said_to_possibly_be_chance():
    found = verdict([fig("A", 100, 8), fig("B", 100, 12)], "open rate")
    assert not found.significant
    assert found.sentence == (
        "Variant B's open rate is higher than variant A's, but with these sample sizes the "
        "difference could be chance (p = 0.35)."
    )


def test_a_large_difference_is_said_to_be_unlikely_chance():
    found = verdict([fig("A", 100, 45), fig("B", 100, 30), fig("C", 100, 10)], "open rate")
    assert found.significant
    assert found.leader.label == "A"
    assert found.runner_up is not None
    assert found.runner_up.label == "B"
    assert "unlikely to be chance (p = 0.03)" in found.sentence


def test_equal_rates_and_nothing_sent_are_said_plainly():
    assert "the same open rate" in verdict([fig("A", 10, 2), fig("B", 10, 2)], "open rate").sentence
    assert "Too few" in verdict([fig("A", 0, 0), fig("B", 0, 0)], "open rate").sentence


def test_the_verdict_in_russian():
    with translation.override("ru"):
        found = verdict([fig("A", 100, 8), fig("B", 100, 12)], measure_name(AbCriterion.OPENS))
    assert found.sentence == (
        "У варианта B доля открытий выше, чем у варианта A, но при таких размерах выборок "
        "разница может быть случайной (p = 0.35)."
    )
