"""Writes for A/B tests: set a campaign's variants up, and send the winner to the rest.

Which variant wins is decided above (automation reads the tracking events); this module only
makes the choice take effect, once: the test moves from `testing` to `decided` in the
transaction that creates the rest's deliveries, under a lock on the test's row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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
from campaigns.services import CampaignError, CampaignNotReady, freeze_content, not_allowed_unless
from campaigns.transitions import EDITABLE
from content.models import Template

WAIT_HOURS_MAX = 7 * 24


@dataclass(frozen=True)
class AbTestSetup:
    """What the campaign form or the API asks for."""

    kind: str
    values: list[str]  # the subjects or From names; empty for whole content
    test_percent: int
    criterion: str
    wait_hours: int
    # Whole content: each variant's template, A first (A is the campaign's own template).
    template_ids: list[int] = field(default_factory=list)

    @property
    def variant_count(self) -> int:
        return len(self.template_ids if self.kind == AbTestKind.CONTENT else self.values)


def ab_test_problems(setup: AbTestSetup) -> list[tuple[str, str]]:
    """Why `setup` cannot be saved, as (field of AbTestSetup, words fit to show); empty when
    it can."""
    problems: list[tuple[str, str]] = []
    count = setup.variant_count
    content = setup.kind == AbTestKind.CONTENT
    if count < AB_VARIANTS_MIN or count > AB_VARIANTS_MAX:
        problems.append(
            (
                "templates" if content else "values",
                ngettext(
                    "An A/B test needs 2 to 5 variants; this one has %(count)d.",
                    "An A/B test needs 2 to 5 variants; this one has %(count)d.",
                    count,
                )
                % {"count": count},
            )
        )
    if content and len(set(setup.template_ids)) != count:
        problems.append(("templates", _("Two variants have the same template.")))
    if not content and any(not value.strip() for value in setup.values):
        problems.append(("values", _("Every variant needs a value.")))
    if not content and len({value.strip() for value in setup.values}) != count:
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


def ab_content_problems(
    workspace_id: int, setup: AbTestSetup, template_id: int | None
) -> list[tuple[str, str]]:
    """Why a whole-content test's templates cannot be used, as `ab_test_problems` says it
    (`template_<n>`: variant n's, A being 0): variant A must be the campaign's template
    (`template_id`; a campaign without one is told to choose one elsewhere), the others
    templates of the workspace that compile. Empty for other kinds."""
    if setup.kind != AbTestKind.CONTENT or not setup.template_ids:
        return []
    problems: list[tuple[str, str]] = []
    if template_id is not None and setup.template_ids[0] != template_id:
        problems.append(
            ("template_0", _("Variant A is the campaign's own template: name it first."))
        )
    ids = setup.template_ids[1:AB_VARIANTS_MAX]
    found = (
        Template.objects.filter(workspace_id=workspace_id, pk__in=ids)
        .select_related("workspace")
        .in_bulk()
    )
    for position, pk in enumerate(ids, start=1):
        label = "ABCDE"[position]
        template = found.get(pk)
        if template is None:
            problems.append(
                (
                    f"template_{position}",
                    _("Variant %(label)s: template %(id)s is not one of this workspace's.")
                    % {"label": label, "id": pk},
                )
            )
            continue
        try:  # a template that does not compile would refuse the launch: say so now
            freeze_content(Campaign(workspace=template.workspace), template)
        except CampaignError as exc:
            problems.append(
                (
                    f"template_{position}",
                    _("Variant %(label)s: %(problem)s") % {"label": label, "problem": exc},
                )
            )
    return problems


def ab_test_setup_of(campaign: Campaign) -> AbTestSetup | None:
    """The campaign's A/B test as the editor shows it; None without one."""
    test = AbTest.objects.filter(campaign_id=campaign.pk).first()
    if test is None:
        return None
    variants = list(Variant.objects.filter(campaign_id=campaign.pk))
    content = test.kind == AbTestKind.CONTENT
    return AbTestSetup(
        kind=test.kind,
        values=[] if content else [v.value for v in variants],
        test_percent=test.test_percent,
        criterion=test.criterion,
        wait_hours=max(1, test.wait_seconds // 3600),
        template_ids=(
            [campaign.template_id or 0, *(v.template_id or 0 for v in variants[1:])]
            if content
            else []
        ),
    )


def ab_test_apply(*, campaign: Campaign, setup: AbTestSetup | None) -> None:
    """Save `setup` as the campaign's A/B test, or drop its test when None (in the caller's
    transaction; the caller checked that the campaign is editable)."""
    if setup is None:
        ab_test_remove(campaign=campaign)
    elif setup != ab_test_setup_of(campaign):  # an unchanged test keeps its seed
        ab_test_save(campaign=campaign, setup=setup)


def ab_content_names_refresh(*, campaign: Campaign) -> None:
    """Name a whole-content test's variant A after the campaign's template as it is now (it
    follows the campaign's template, which an edit may change without touching the test)."""
    name = (
        Template.objects.filter(workspace_id=campaign.workspace_id, pk=campaign.template_id)
        .values_list("name", flat=True)
        .first()
        if campaign.template_id is not None
        else None
    )
    Variant.objects.filter(
        campaign_id=campaign.pk, position=0, campaign__ab_test__kind=AbTestKind.CONTENT
    ).update(value=(name or "")[:998])


@transaction.atomic
def ab_test_save(*, campaign: Campaign, setup: AbTestSetup) -> AbTest:
    """Replace the campaign's A/B test with `setup`. Raises CampaignError when the campaign
    has started (its split is fixed then) or when `setup` is not valid (for whole content: a
    template of another workspace, one that does not compile, or a variant A that is not the
    campaign's template)."""
    locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
    not_allowed_unless(
        locked, EDITABLE, _("The A/B test of a campaign that has started cannot be changed.")
    )
    problems = ab_test_problems(setup) or ab_content_problems(
        locked.workspace_id, setup, locked.template_id
    )
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
    Variant.objects.bulk_create(_variants(locked, setup))
    return test


def _variants(campaign: Campaign, setup: AbTestSetup) -> list[Variant]:
    """The rows of `setup`'s variants; a content variant is named after its template, and
    variant A's template is left to the campaign (whichever it has when it starts)."""
    workspace_id = campaign.workspace_id
    if setup.kind != AbTestKind.CONTENT:
        return [
            Variant(workspace_id=workspace_id, campaign=campaign, position=i, value=v.strip())
            for i, v in enumerate(setup.values)
        ]
    names = dict(
        Template.objects.filter(workspace_id=workspace_id, pk__in=setup.template_ids).values_list(
            "pk", "name"
        )
    )
    return [
        Variant(
            workspace_id=workspace_id,
            campaign=campaign,
            position=i,
            value=names.get(pk, "")[:998],
            template_id=pk if i > 0 else None,
        )
        for i, pk in enumerate(setup.template_ids)
    ]


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
