"""`/api/campaigns/{campaign_id}/ab-test/`: the A/B test's figures and verdict (GET), and
`…/ab-test/choose/`: choosing the winner by hand (POST), as the A/B test page does."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.access import WorkspaceRole, api_access
from automation.ab_reports import AbReport, ab_report, ab_test_get
from automation.choices import ab_test_choose_by_hand
from campaigns.models import AB_VARIANTS_MAX, AbTestState
from campaigns.serializers import variant_template_id
from campaigns.services import CampaignError


class VariantFiguresOut(serializers.Serializer[Any]):
    variant = serializers.CharField(help_text="The variant's letter, A to E.")
    value = serializers.CharField(help_text="Its subject or From name; its template's name.")
    template_id = serializers.IntegerField(
        allow_null=True, help_text="Kind content: the variant's template; null otherwise."
    )
    sent = serializers.IntegerField(help_text="Test share messages sent so far.")
    people = serializers.IntegerField(
        help_text="Unique people who opened, clicked or replied (as the criterion); machine "
        "opens and link scanners left out."
    )
    rate = serializers.FloatField(help_text="people / sent, 0 to 1.")
    winner = serializers.BooleanField()


class AbTestReportOut(serializers.Serializer[Any]):
    campaign_id = serializers.IntegerField()
    kind = serializers.CharField()
    criterion = serializers.CharField()
    test_percent = serializers.IntegerField()
    state = serializers.ChoiceField(AbTestState.choices)
    ends_at = serializers.DateTimeField(allow_null=True, help_text="When the winner is chosen.")
    decided_at = serializers.DateTimeField(allow_null=True)
    decided_by_hand = serializers.BooleanField()
    variants = VariantFiguresOut(many=True)
    leader = serializers.CharField(allow_null=True)
    p_value = serializers.FloatField(
        allow_null=True, help_text="Two-proportion z-test of the leader against the next best."
    )
    significant = serializers.BooleanField(help_text="p below 0.05.")
    verdict = serializers.CharField(help_text="The verdict in words, in the caller's language.")


class ChooseIn(serializers.Serializer[Any]):
    variant = serializers.ChoiceField(
        choices=list("ABCDE"[:AB_VARIANTS_MAX]), help_text="The winner's label."
    )


class ChooseOut(serializers.Serializer[Any]):
    winner = serializers.CharField()
    created = serializers.IntegerField(help_text="Deliveries created for the rest.")


def report_body(report: AbReport) -> dict[str, Any]:
    test, verdict = report.test, report.verdict
    return {
        "campaign_id": report.campaign.pk,
        "kind": test.kind,
        "criterion": test.criterion,
        "test_percent": test.test_percent,
        "state": test.state,
        "ends_at": report.ends_at,
        "decided_at": test.decided_at,
        "decided_by_hand": test.decided_by_hand,
        "variants": [
            {
                "variant": variant.label,
                "value": variant.value,
                "template_id": variant_template_id(report.campaign, test.kind, variant),
                "sent": figures.sent,
                "people": figures.successes,
                "rate": round(figures.rate, 4),
                "winner": test.winner_id == variant.pk,
            }
            for variant, figures in report.rows
        ],
        "leader": verdict.leader.label if verdict else None,
        "p_value": verdict.p_value if verdict else None,
        "significant": bool(verdict and verdict.significant),
        "verdict": verdict.sentence if verdict else "",
    }


class CampaignAbTestApi(APIView):
    """A campaign's A/B test: each variant's test share figures, and whether the leader's
    lead could be chance."""

    permission_classes = (WorkspaceRole,)

    @extend_schema(
        tags=["campaigns"], summary="A campaign's A/B test figures", responses=AbTestReportOut
    )
    def get(self, request: Request, campaign_id: int) -> Response:
        report = ab_report(api_access(request).workspace, campaign_id)
        if report is None:
            raise NotFound(_("No such campaign, or it has no A/B test."))
        return Response(report_body(report))


class CampaignAbTestChooseApi(APIView):
    """Choose the A/B test's winner by hand: it goes to the rest of the audience at once."""

    permission_classes = (WorkspaceRole,)

    @extend_schema(
        tags=["campaigns"],
        summary="Choose an A/B test's winner by hand",
        request=ChooseIn,
        responses={200: ChooseOut},
    )
    def post(self, request: Request, campaign_id: int) -> Response:
        test = ab_test_get(api_access(request).workspace, campaign_id)
        if test is None:
            raise NotFound(_("No such campaign, or it has no A/B test."))
        given = ChooseIn(data=request.data)
        given.is_valid(raise_exception=True)
        label = given.validated_data["variant"]
        try:
            created = ab_test_choose_by_hand(test=test, position="ABCDE".index(label))
        except CampaignError as exc:
            raise ValidationError({"variant": [str(exc)]}) from exc
        return Response({"winner": label, "created": created})
