"""The A/B test's arithmetic, pure: rates, the winner, and whether a difference could be
chance (a two-proportion z-test), said in words a person can act on.

Nothing here reads the database; `automation.ab_reports` gathers the figures.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.utils.translation import gettext as _

# Below this p-value a difference is called unlikely to be chance (the usual 5 %).
SIGNIFICANT_P = 0.05


@dataclass(frozen=True)
class VariantFigures:
    """One variant's test share: how many it was sent to, and how many of those did the
    thing the test counts (unique people: an open per person, not per pixel load)."""

    position: int
    label: str
    sent: int
    successes: int

    @property
    def rate(self) -> float:
        return self.successes / self.sent if self.sent else 0.0

    @property
    def percent(self) -> float:
        return self.rate * 100


def leader(figures: list[VariantFigures]) -> VariantFigures:
    """The variant with the highest rate; on a tie the earlier one (A before B), so the
    choice never depends on the order the rows came in."""
    return max(sorted(figures, key=lambda f: f.position), key=lambda f: f.rate)


def runner_up(figures: list[VariantFigures]) -> VariantFigures | None:
    best = leader(figures)
    rest = [f for f in figures if f.position != best.position]
    return leader(rest) if rest else None


def two_proportion_p(a: VariantFigures, b: VariantFigures) -> float | None:
    """The two-sided p-value of a pooled two-proportion z-test of a's and b's rates; None
    when it cannot be computed (a variant sent to nobody, or nobody or everybody did it)."""
    if a.sent == 0 or b.sent == 0:
        return None
    pooled = (a.successes + b.successes) / (a.sent + b.sent)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / a.sent + 1 / b.sent))
    if spread == 0:
        return None
    z = (a.rate - b.rate) / spread
    return math.erfc(abs(z) / math.sqrt(2))


@dataclass(frozen=True)
class Verdict:
    leader: VariantFigures
    runner_up: VariantFigures | None
    p_value: float | None
    significant: bool
    sentence: str


def verdict(figures: list[VariantFigures], measure: str) -> Verdict:
    """Who leads, and whether the lead over the next best could be chance, as a sentence;
    `measure` names the rate ("open rate", translated by the caller)."""
    best, second = leader(figures), runner_up(figures)
    p = two_proportion_p(best, second) if second is not None else None
    significant = p is not None and p < SIGNIFICANT_P
    return Verdict(best, second, p, significant, _sentence(best, second, p, measure))


def _sentence(
    best: VariantFigures, second: VariantFigures | None, p: float | None, measure: str
) -> str:
    values = {"best": best.label, "measure": measure}
    if second is None or best.sent == 0 or second.sent == 0:
        return _("Too few messages have been sent to compare the variants yet.")
    values["other"] = second.label
    if best.rate == second.rate:
        return _("Variants %(best)s and %(other)s have the same %(measure)s so far.") % values
    values["p"] = _p_text(p)
    if p is not None and p < SIGNIFICANT_P:
        return (
            _(
                "Variant %(best)s's %(measure)s is higher than variant %(other)s's, and with "
                "these sample sizes the difference is unlikely to be chance (p = %(p)s)."
            )
            % values
        )
    return (
        _(
            "Variant %(best)s's %(measure)s is higher than variant %(other)s's, but with these "
            "sample sizes the difference could be chance (p = %(p)s)."
        )
        % values
    )


def _p_text(p: float | None) -> str:
    if p is None:
        return "—"
    return "< 0.001" if p < 0.001 else f"{p:.2f}" if p >= 0.01 else f"{p:.3f}"
