"""Writes for A/B tests: set a campaign's variants up, and send the winner to the rest.

Which variant wins is decided above (automation reads the tracking events); this module only
makes the choice take effect, once: the test moves from `testing` to `decided` in the
transaction that creates the rest's deliveries, under a lock on the test's row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from campaigns.engine import launch as launcher
from campaigns.models import (
    AB_VARIANTS_MAX,
    AB_VARIANTS_MIN,
    AbCriterion,
    AbTest,
    AbTestKind,
    AbTestState,
    Campaign,
    CampaignStatus,
    Variant,
)
from campaigns.services import CampaignNotReady, not_allowed_unless
from campaigns.transitions import EDITABLE

WAIT_HOURS_MAX = 7 * 24


@dataclass(frozen=True)
class AbTestSetup:
    """What the campaign form or the API asks for."""

    kind: str
    values: list[str]
    test_percent: int
    criterion: str
    wait_hours: int


def ab_test_problems(setup: AbTestSetup) -> list[tuple[str, str]]:
    """Why `setup` cannot be saved, as (field of AbTestSetup, words fit to show); empty when
    it can."""
    problems: list[tuple[str, str]] = []
    count = len(setup.values)
    if count < AB_VARIANTS_MIN or count > AB_VARIANTS_MAX:
        problems.append(
            (
                "values",
                ngettext(
                    "An A/B test needs 2 to 5 variants; this one has %(count)d.",
                    "An A/B test needs 2 to 5 variants; this one has %(count)d.",
                    count,
                )
                % {"count": count},
            )
        )
    if any(not value.strip() for value in setup.values):
        problems.append(("values", _("Every variant needs a value.")))
    if len({value.strip() for value in setup.values}) != count:
        problems.append(("values", _("Two variants are the same.")))
    if not 1 <= setup.test_percent <= 99:
        problems.append(
            (
                "test_percent",
                _(
                    "The test share must be between 1 and 99 %% of the audience "
                    "(it is %(share)d %%)."
                )
                % {"share": setup.test_percent},
            )
        )
    if setup.kind not in AbTestKind.values or setup.criterion not in AbCriterion.values:
        problems.append(("kind", _("Choose what varies and how the winner is chosen.")))
    if not 1 <= setup.wait_hours <= WAIT_HOURS_MAX:
        problems.append(("wait_hours", _("The wait must be between 1 hour and 7 days.")))
    return problems


def ab_test_setup_of(campaign: Campaign) -> AbTestSetup | None:
    """The campaign's A/B test as the editor shows it; None without one."""
    test = AbTest.objects.filter(campaign_id=campaign.pk).first()
    if test is None:
        return None
    return AbTestSetup(
        kind=test.kind,
        values=list(
            Variant.objects.filter(campaign_id=campaign.pk).values_list("value", flat=True)
        ),
        test_percent=test.test_percent,
        criterion=test.criterion,
        wait_hours=max(1, test.wait_seconds // 3600),
    )


def ab_test_apply(*, campaign: Campaign, setup: AbTestSetup | None) -> None:
    """Save `setup` as the campaign's A/B test, or drop its test when None (in the caller's
    transaction; the caller checked that the campaign is editable)."""
    if setup is None:
        ab_test_remove(campaign=campaign)
    elif setup != ab_test_setup_of(campaign):  # an unchanged test keeps its seed
        ab_test_save(campaign=campaign, setup=setup)


@transaction.atomic
def ab_test_save(*, campaign: Campaign, setup: AbTestSetup) -> AbTest:
    """Replace the campaign's A/B test with `setup`. Raises CampaignError when the campaign
    has started (its split is fixed then) or when `setup` is not valid."""
    locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
    not_allowed_unless(
        locked, EDITABLE, _("The A/B test of a campaign that has started cannot be changed.")
    )
    problems = ab_test_problems(setup)
    if problems:
        raise CampaignNotReady(" ".join(message for _field, message in problems))
    Variant.objects.filter(campaign_id=campaign.pk).delete()
    test, _created = AbTest.objects.update_or_create(
        campaign=locked,
        defaults={
            "workspace_id": locked.workspace_id,
            "kind": setup.kind,
            "test_percent": setup.test_percent,
            "criterion": setup.criterion,
            "wait_seconds": setup.wait_hours * 3600,
            "state": AbTestState.PLANNED,
            "winner": None,
        },
    )
    Variant.objects.bulk_create(
        Variant(workspace_id=locked.workspace_id, campaign=locked, position=i, value=v.strip())
        for i, v in enumerate(setup.values)
    )
    return test


@transaction.atomic
def ab_test_remove(*, campaign: Campaign) -> None:
    """Drop the campaign's A/B test before it starts; raises CampaignError after."""
    locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
    not_allowed_unless(
        locked, EDITABLE, _("The A/B test of a campaign that has started cannot be changed.")
    )
    AbTest.objects.filter(campaign_id=campaign.pk).delete()
    Variant.objects.filter(campaign_id=campaign.pk).delete()


SENDS_TO_REST = (CampaignStatus.RUNNING, CampaignStatus.PAUSED)


@transaction.atomic
def ab_test_send_winner(
    *, campaign: Campaign, variant: Variant, now: datetime, by_hand: bool = False
) -> int | None:
    """Make `variant` the winner and create the deliveries of the rest of the audience with
    it. Returns how many were created, or None when the test was decided already (by another
    worker, or by hand): safe to call twice. Raises CampaignError when the campaign is not
    running or paused (a cancelled campaign sends nothing more), or for another campaign's
    variant."""
    test = AbTest.objects.select_for_update().filter(campaign_id=campaign.pk).first()
    if test is None or variant.campaign_id != campaign.pk:
        raise CampaignNotReady(_("This campaign has no such A/B test variant."))
    if test.state != AbTestState.TESTING:
        return None
    current = Campaign.objects.select_related("workspace").get(pk=campaign.pk)
    not_allowed_unless(
        current, SENDS_TO_REST, _("Only a running or paused campaign can send its winner.")
    )
    last = current.deliveries.order_by("-pk").values_list("pk", flat=True).first()
    test.test_last_delivery_id = last
    created = launcher.launch_rest(campaign=current, variant=variant, now=now)
    test.state = AbTestState.DECIDED
    test.winner = variant
    test.decided_at = now
    test.decided_by_hand = by_hand
    test.save(
        update_fields=["state", "winner", "decided_at", "decided_by_hand", "test_last_delivery_id"]
    )
    return created
