"""A recipient's timeline pages by keyset over its two sources, attempts and events: rows of
one time (a mailbox read, a retry burst) are each shown once, and a deep page reads what the
first does, where pages by number read page times 50 rows of each source."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audience.models import Recipient
from campaigns.models import Attempt
from core.keyset import encode_cursor
from core.testing.pages import link_href
from tracking import reports
from tracking.models import EventKind, EventSource
from tracking.tests.reporting import happened, sent_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(personas):
    """30 rows of ann's: 12 attempts and 12 replies at one time, 3 of each around it."""
    world = sent_world(personas.workspace, ["ann@example.test"])
    ann = world.deliveries["ann@example.test"]
    at = world.start + timedelta(hours=1)
    for i, when in enumerate([at] * 12 + [at - timedelta(minutes=1)] * 3):
        Attempt.objects.create(
            workspace=ann.workspace,
            campaign=world.campaign,
            delivery=ann,
            email=ann.email,
            outcome="temporary",
            reply=f"try {i}",
            created_at=when,
        )
    for i, when in enumerate([at] * 12 + [at + timedelta(minutes=1)] * 3):
        happened(ann, EventKind.REPLIED, when, detail=f"reply {i}", source=EventSource.MAILBOX)
    return Recipient.objects.get(workspace=personas.workspace, email=ann.email)


def test_the_pages_hold_each_row_once_newest_first_a_page_a_read(personas, history):
    pages, after = [], ""
    while True:
        with CaptureQueriesContext(connection) as queries:
            page = reports.recipient_timeline(personas.workspace, history, after=after, per_page=7)
        reads = [
            q["sql"] for q in queries if "_attempt" in q["sql"] or "tracking_event" in q["sql"]
        ]
        assert len(reads) == 2
        assert all("LIMIT 8" in sql and "OFFSET" not in sql for sql in reads), reads
        pages.append(page)
        if not page.next_cursor:
            break
        after = page.next_cursor
    rows = [row for page in pages for row in page.rows]
    assert [len(page.rows) for page in pages] == [7, 7, 7, 7, 2]
    assert len({row.place for row in rows}) == 30
    assert [row.order for row in rows] == sorted((row.order for row in rows), reverse=True)
    assert rows[0].kind == "replied"
    assert rows[-1].kind == "attempt"
    # Newer, from the fourth page, is the third again.
    third = reports.recipient_timeline(
        personas.workspace, history, before=pages[3].previous_cursor, per_page=7
    )
    assert [row.place for row in third.rows] == [row.place for row in pages[2].rows]
    assert third.next_cursor
    assert third.previous_cursor


def test_the_page_links_walk_the_timeline_and_a_forged_cursor_gives_the_first(
    personas, history, owner_client
):
    url = reverse("tracking:recipient_timeline", kwargs={"recipient_id": history.pk})
    first = owner_client.get(url).content.decode()
    assert first.count("<li ") == 30  # one page of 50 holds them all
    assert link_href(first, "timeline-older") is None

    forgeries = (
        "garbage",
        encode_cursor("2026-01-01T00:00:00+00:00", 1),  # another list's cursor
        encode_cursor(["2026-01-01T00:00:00", 0], 1),  # a time without its zone
        encode_cursor(["2026-01-01T00:00:00+00:00", 7], 1),  # no such source
        encode_cursor(["not a time", 1], 1),
    )
    for forged in forgeries:
        again = owner_client.get(url, {"after": forged})
        assert again.status_code == 200
        assert again.content.decode().count("<li ") == 30
