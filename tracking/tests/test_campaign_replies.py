"""A campaign's replies: the replies found for its deliveries, listed on their own page
(linked from the campaign page and the report's count), escaped, paginated, one workspace's."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audience.models import Recipient
from campaigns.models import CampaignStatus
from core.testing.pages import link_href
from tracking.models import EventKind, EventSource
from tracking.tests.reporting import happened, sent_world

pytestmark = pytest.mark.django_db

PLANTED = '<script>alert(1)</script><a hx-get="/x">Thanks!</a>'


def reply(delivery, text, minutes=0, world=None):
    at = (world.start if world else delivery.sent_at) + timedelta(minutes=minutes)
    return happened(delivery, EventKind.REPLIED, at, detail=text, source=EventSource.MAILBOX)


def test_the_replies_page_lists_them_escaped_with_the_timeline_link(personas, owner_client):
    world = sent_world(personas.workspace, ["ann@example.test", "bob@example.test"])
    ann = world.deliveries["ann@example.test"]
    reply(ann, PLANTED, minutes=5)
    reply(world.deliveries["bob@example.test"], "Call me on Monday", minutes=9)
    happened(ann, EventKind.OPENED, world.start)  # not a reply
    other = sent_world(personas.workspace, ["cat@example.test"], name="Autumn")
    reply(other.deliveries["cat@example.test"], "About another campaign")

    url = reverse("tracking:campaign_replies", kwargs={"campaign_id": world.campaign.pk})
    page = owner_client.get(url).content.decode()

    assert page.index("Call me on Monday") < page.index("Thanks!")  # newest first
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert(1)" not in page
    assert 'hx-get="/x"' not in page
    assert "About another campaign" not in page
    ann_recipient = Recipient.objects.get(email="ann@example.test")
    timeline = reverse("tracking:recipient_timeline", kwargs={"recipient_id": ann_recipient.pk})
    assert f'href="{timeline}"' in page
    assert "Replies found in the bounce and reply mailboxes" in page


def test_replies_page_by_keyset_each_once_without_counting(personas, owner_client):
    """A mailbox read at once gives many replies one time: the Older and Newer links go on
    after the last row's (time, id), and no page counts the campaign's replies."""
    world = sent_world(personas.workspace, ["ann@example.test"])
    for i in range(51):
        reply(world.deliveries["ann@example.test"], f"reply number {i:02d}")
    url = reverse("tracking:campaign_replies", kwargs={"campaign_id": world.campaign.pk})
    with CaptureQueriesContext(connection) as queries:
        first = owner_client.get(url).content.decode()
    counted = [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()]
    assert not [sql for sql in counted if "tracking_event" in sql]
    assert first.count("<tr data-event=") == 50
    assert "reply number 50" in first  # the newest, by id among equal times
    assert "reply number 00" not in first
    older = link_href(first, "replies-older")
    assert older is not None
    second = owner_client.get(url + older).content.decode()
    assert second.count("<tr data-event=") == 1
    assert "reply number 00" in second
    assert 'id="replies-older"' not in second
    newer = link_href(second, "replies-newer")
    assert newer is not None
    back = owner_client.get(url + newer).content.decode()
    assert re.findall(r"reply number \d+", back) == re.findall(r"reply number \d+", first)


def test_the_campaign_page_and_the_reports_count_link_to_the_replies(personas, owner_client):
    world = sent_world(personas.workspace, ["ann@example.test", "bob@example.test"])
    reply(world.deliveries["ann@example.test"], "Yes please")
    reply(world.deliveries["ann@example.test"], "And again")
    world.campaign.status = CampaignStatus.COMPLETED
    world.campaign.save(update_fields=["status"])
    kwargs = {"campaign_id": world.campaign.pk}
    replies_url = reverse("tracking:campaign_replies", kwargs=kwargs)
    detail = owner_client.get(reverse("campaigns:detail", kwargs=kwargs)).content.decode()
    assert f'href="{replies_url}"' in detail
    report = owner_client.get(reverse("tracking:campaign_report", kwargs=kwargs)).content.decode()
    # The count is of people who replied (ann twice is one).
    assert f'data-figure="replies"><a class="link" href="{replies_url}">1</a>' in report


def test_a_viewer_reads_them_and_another_workspaces_campaign_is_a_404(
    personas, viewer_client, outsider_client
):
    world = sent_world(personas.workspace, ["ann@example.test"])
    reply(world.deliveries["ann@example.test"], "Hello")
    url = reverse("tracking:campaign_replies", kwargs={"campaign_id": world.campaign.pk})
    assert "Hello" in viewer_client.get(url).content.decode()
    assert outsider_client.get(url).status_code == 404


def test_a_reply_from_another_address_names_its_writer_and_the_message_it_answers(
    personas, owner_client
):
    """A forward or an assistant answers from another address: the page says who wrote and
    to which of the campaign's messages."""
    world = sent_world(personas.workspace, ["ann@example.test", "bob@example.test"])
    ann, bob = world.deliveries["ann@example.test"], world.deliveries["bob@example.test"]
    happened(
        ann, EventKind.REPLIED, world.start, detail="On Ann's behalf: yes",
        source=EventSource.MAILBOX, sender="assistant@example.org",
    )  # fmt: skip
    happened(
        bob, EventKind.REPLIED, world.start, detail="Bob here",
        source=EventSource.MAILBOX, sender="BOB@example.test",
    )  # fmt: skip

    url = reverse("tracking:campaign_replies", kwargs={"campaign_id": world.campaign.pk})
    page = owner_client.get(url).content.decode()

    rows = {row.split(">", 1)[0]: row for row in page.split("<tr data-event=")[1:]}
    ann_row = next(row for row in rows.values() if "On Ann" in row)
    bob_row = next(row for row in rows.values() if "Bob here" in row)
    assert "assistant@example.org" in ann_row
    assert "to the message sent to" in ann_row
    assert "ann@example.test" in ann_row
    assert "to the message sent to" not in bob_row  # the same address, in another case
    assert "bob@example.test" in bob_row
