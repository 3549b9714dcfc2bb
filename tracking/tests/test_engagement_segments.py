"""Segments by engagement: opened/clicked/did not open a campaign, or anything lately. The
conditions compile to an EXISTS over the events of the same workspace and address."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from audience.models import Recipient
from audience.segments import SegmentError
from audience.selectors import segment_q
from audience.tests.factories import SegmentFactory
from tracking.models import EventKind
from tracking.tests.reporting import happened, sent_world

pytestmark = pytest.mark.django_db
K = EventKind
PEOPLE = ["opener@a.test", "clicker@a.test", "proxy@a.test", "quiet@a.test", "old@a.test"]


@pytest.fixture
def world(personas):
    w = sent_world(personas.workspace, PEOPLE)
    d, now = w.deliveries, timezone.now()
    happened(d["opener@a.test"], K.OPENED, now - timedelta(days=1))
    happened(d["clicker@a.test"], K.CLICKED, now - timedelta(days=2), link_index=0)
    happened(d["proxy@a.test"], K.OPENED, now - timedelta(hours=1), machine=True)
    happened(d["old@a.test"], K.OPENED, now - timedelta(days=40))
    return w


def matching(workspace, op, value):
    q = segment_q(
        workspace,
        {"match": "all", "conditions": [{"field": "engagement", "op": op, "value": value}]},
    )
    return set(
        Recipient.objects.filter(workspace=workspace).filter(q).values_list("email", flat=True)
    )


def test_opened_clicked_and_did_not_open_a_campaign(world, personas):
    ws, cid = personas.workspace, world.campaign.pk

    # A click is an open (images off); a proxy's open is not a person's.
    assert matching(ws, "opened_campaign", cid) == {"opener@a.test", "clicker@a.test", "old@a.test"}
    assert matching(ws, "clicked_campaign", cid) == {"clicker@a.test"}
    assert matching(ws, "not_opened_campaign", cid) == {"proxy@a.test", "quiet@a.test"}


def test_anything_in_the_last_n_days(world, personas):
    ws = personas.workspace
    assert matching(ws, "opened_within", 30) == {"opener@a.test", "clicker@a.test"}
    assert matching(ws, "clicked_within", 30) == {"clicker@a.test"}
    assert matching(ws, "not_opened_within", 30) == {"proxy@a.test", "quiet@a.test", "old@a.test"}
    assert matching(ws, "opened_within", 60) == {"opener@a.test", "clicker@a.test", "old@a.test"}


def test_another_workspaces_opens_do_not_count(world, personas):
    theirs = sent_world(personas.other_workspace, ["quiet@a.test"], name="Theirs")
    happened(theirs.deliveries["quiet@a.test"], K.OPENED, timezone.now())

    assert "quiet@a.test" not in matching(personas.workspace, "opened_within", 30)
    # Their campaign's id names nothing here.
    assert matching(personas.workspace, "opened_campaign", theirs.campaign.pk) == set()


@pytest.mark.parametrize("value", ["", "x", 0, -3, 99999])
def test_bad_values_are_refused(personas, value):
    with pytest.raises(SegmentError):
        matching(personas.workspace, "opened_within", value)


def test_a_saved_segment_counts_non_openers_in_the_page(world, personas, owner_client):
    segment = SegmentFactory.create(
        workspace=personas.workspace,
        name="Did not open",
        definition={
            "match": "all",
            "conditions": [
                {"field": "engagement", "op": "not_opened_campaign", "value": world.campaign.pk}
            ],
        },
    )
    page = owner_client.get(reverse("audience:index"), {"segment": segment.pk}).content.decode()
    assert "quiet@a.test" in page
    assert "opener@a.test" not in page
