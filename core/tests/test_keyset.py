"""Keyset pages: every row once, in order, forwards and backwards, across long runs of ties."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import Workspace
from audience.models import Recipient, Suppression
from audience.selectors import recipients_page
from core.keyset import encode_cursor, keyset_page
from core.testing.plans import reads_recorded

pytestmark = pytest.mark.django_db


@pytest.fixture
def rows() -> list[int]:
    """17 suppressions, newest first as the pages list them: 3 alone, then 11 written at one
    moment (an import), then 3 more alone; ids deliberately out of time order."""
    workspace = Workspace.objects.create(name="Keyset pages")
    now = timezone.now()
    times = [now - timedelta(minutes=m) for m in (9, 8, 7)]
    times += [now - timedelta(minutes=5)] * 11
    times += [now - timedelta(minutes=m) for m in (3, 2, 1)]
    made = Suppression.objects.bulk_create(
        Suppression(workspace=workspace, email=f"p{i}@example.com", created_at=when)
        for i, when in enumerate(times)
    )
    made.sort(key=lambda s: (s.created_at, s.pk), reverse=True)
    return [s.pk for s in made]


def _all() -> QuerySet[Suppression]:
    return Suppression.objects.all()


@pytest.mark.parametrize("size", [1, 2, 4, 5, 16, 17, 50])
def test_forward_pages_give_every_row_once_in_order(rows, size):
    seen, cursor, pages = [], "", 0
    while True:
        page = keyset_page(_all(), key="created_at", cursor=cursor, size=size)
        assert len(page.rows) <= size
        seen += [r.pk for r in page.rows]
        pages += 1
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert seen == rows
    assert pages == -(-len(rows) // size)


@pytest.mark.parametrize("size", [1, 3, 4, 6])
def test_each_page_leads_back_to_the_page_before_it(rows, size):
    """`previous_cursor` of a page opened by `next_cursor` opens the page before it again."""
    first = keyset_page(_all(), key="created_at", cursor="", size=size)
    assert first.previous_cursor == ""
    earlier, cursor = first, first.next_cursor
    while cursor:
        page = keyset_page(_all(), key="created_at", cursor=cursor, size=size)
        assert page.previous_cursor
        back = keyset_page(
            _all(), key="created_at", cursor="", before=page.previous_cursor, size=size
        )
        assert [r.pk for r in back.rows] == [r.pk for r in earlier.rows]
        assert back.next_cursor  # and onwards from there again
        onwards = keyset_page(_all(), key="created_at", cursor=back.next_cursor, size=size)
        assert [r.pk for r in onwards.rows] == [r.pk for r in page.rows]
        assert bool(back.previous_cursor) == (earlier is not first)
        earlier, cursor = page, page.next_cursor


def test_ascending_by_id(rows):
    ids = sorted(rows)
    page = keyset_page(_all(), key="pk", cursor="", size=10, descending=False)
    assert [r.pk for r in page.rows] == ids[:10]
    rest = keyset_page(_all(), key="pk", cursor=page.next_cursor, size=10, descending=False)
    assert [r.pk for r in rest.rows] == ids[10:]
    assert rest.next_cursor == ""


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        "!!!",
        encode_cursor("not a time", 5),
        encode_cursor(None, 5),
        "WzEsMiwzXQ",  # [1,2,3]
        encode_cursor("2026-01-01T00:00:00+00:00", 10**30),
        base64.urlsafe_b64encode(b'["2026-01-01T00:00:00+00:00", 1e400]').decode(),
    ],
)
def test_a_cursor_that_is_not_ours_gives_the_first_page(rows, cursor):
    first = [r.pk for r in keyset_page(_all(), key="created_at", cursor="", size=5).rows]
    assert [
        r.pk for r in keyset_page(_all(), key="created_at", cursor=cursor, size=5).rows
    ] == first
    backwards = keyset_page(_all(), key="created_at", cursor="", before=cursor, size=5)
    assert [r.pk for r in backwards.rows] == first


@pytest.mark.skipif(connection.vendor != "postgresql", reason="index plans are PostgreSQL's")
@pytest.mark.parametrize("tied", [False, True], ids=["distinct", "all tied"])
def test_a_page_deep_in_reads_one_page_of_rows(tied):
    """The cursor bounds the index scan itself: a page 300 rows in reads a page, not the 300
    rows before it (and not the tied rows before it either)."""
    workspace = Workspace.objects.create(name="Keyset pages")
    people = Recipient.objects.bulk_create(
        Recipient(workspace=workspace, email=f"p{i}@example.test", last_name=_name(i, tied))
        for i in range(400)
    )
    people.sort(key=lambda r: (r.last_name, r.pk), reverse=True)
    recipients = Recipient.objects.filter(workspace=workspace)
    skipped = recipients_page(recipients, sort="last_name", descending=True, cursor="", size=300)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE audience_recipient")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
    with reads_recorded("audience_recipient") as reads:
        page = recipients_page(
            recipients, sort="last_name", descending=True, cursor=skipped.next_cursor, size=20
        )
    assert [r.pk for r in page.rows] == [r.pk for r in people[300:320]]
    assert len(reads) == 1
    assert reads[0] <= 21


def _name(i: int, tied: bool) -> str:
    return "Same" if tied else f"Name {i:04}"
