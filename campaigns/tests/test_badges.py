"""The status badges: every status keeps its colour, and the label is translated and escaped."""

from __future__ import annotations

import pytest
from django.template import Context, Template
from django.utils import translation

from campaigns.models import AttemptOutcome, CampaignStatus, DeliveryStatus

CAMPAIGN = {
    "draft": "badge-gray",
    "scheduled": "badge-blue",
    "launching": "badge-blue",
    "running": "badge-blue",
    "paused": "badge-yellow",
    "completed": "badge-green",
    "cancelled": "badge-red",
}
DELIVERY = {
    "queued": "badge-blue",
    "deferred": "badge-yellow",
    "sending": "badge-blue",
    "sent": "badge-green",
    "failed": "badge-red",
    "not_found": "badge-red",
    "connection_error": "badge-red",
    "other_error": "badge-red",
    "bounced": "badge-red",
    "complained": "badge-red",
    "suppressed": "badge-gray",
    "expired": "badge-gray",
    "cancelled": "badge-gray",
}
ATTEMPT = {
    "sent": "badge-green",
    "temporary": "badge-yellow",
    "ambiguous": "badge-yellow",
    "suppressed": "badge-gray",
}


def badge(tag: str, status: str, label: str) -> str:
    template = Template("{% load campaign_badges %}{% " + tag + " status label %}")
    return template.render(Context({"status": status, "label": label}))


def test_every_status_has_its_colour():
    assert set(CAMPAIGN) == set(CampaignStatus.values)
    assert set(DELIVERY) == set(DeliveryStatus.values)
    for status, colour in CAMPAIGN.items():
        html = badge("campaign_badge", status, CampaignStatus(status).label)
        assert html.startswith(f'<span class="badge {colour}" data-status="{status}">'), html
    for status, colour in DELIVERY.items():
        html = badge("delivery_badge", status, DeliveryStatus(status).label)
        assert html.startswith(f'<span class="badge {colour}" data-status="{status}">'), html
    for outcome in AttemptOutcome.values:
        colour = ATTEMPT.get(outcome, "badge-red")
        html = badge("attempt_badge", outcome, AttemptOutcome(outcome).label)
        assert html.startswith(f'<span class="badge {colour}" data-outcome="{outcome}">'), html


@pytest.mark.parametrize("tag", ["campaign_badge", "delivery_badge", "attempt_badge"])
def test_the_label_is_translated_and_escaped(tag):
    with translation.override("ru"):
        assert ">Отправлено<" in badge("delivery_badge", "sent", "Sent")
    html = badge(tag, '"><b x="', "<script>")
    assert "<script>" not in html
    assert "<b" not in html
    assert "&lt;script&gt;" in html
