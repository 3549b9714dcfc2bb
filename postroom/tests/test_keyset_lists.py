"""Lists that grow without bound page by keyset, on their pages and in the API: every row is
reached exactly once, Older and Newer agree, and no page counts the table.

Suppression lists imported from another service, the audit log, a sequence's people and a
bounce mailbox's messages reach millions of rows. Page numbers counted them all for every
page and skipped over all the rows before it (OFFSET); the suppression page showed only the
newest 200. Every row here shares one timestamp, as the rows one import writes do.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.audit.models import AuditEntry
from audience.models import Suppression
from audience.selectors import suppressions_matching
from automation.models import Enrollment
from automation.tests.sequence_setup import join, make_sequence
from core.testing.pages import link_href
from core.testing.plans import rows_read
from tracking.models import BounceMailbox, MailboxMessage

ROWS = 107  # three pages of the pages' 50, the last one short


@dataclass
class Listing:
    page: str  # the UI page's path
    api: str  # the API list's path
    prefix: str  # the ids of the page's Older and Newer links
    marks: list[str]  # one per row, each met once in the row's cells
    row_pattern: str  # a regex finding the marks in the page's HTML
    api_mark: Callable[[dict[str, Any]], str]  # the mark of a row of the API's results


def _suppressions(personas) -> Listing:
    when = timezone.now()
    emails = [f"blocked{i}@example.test" for i in range(ROWS)]
    Suppression.objects.bulk_create(
        Suppression(workspace=personas.workspace, email=e, created_at=when) for e in emails
    )
    return Listing(
        reverse("audience:suppression"),
        "/api/suppressions/",
        "suppressions",
        emails,
        r"<td>(blocked\d+@example\.test)</td>",
        lambda row: row["email"],
    )


def _audit_log(personas) -> Listing:
    when = timezone.now() - timedelta(days=1)  # older than what signing in writes
    labels = [f"target-{i}" for i in range(ROWS)]
    AuditEntry.objects.bulk_create(
        AuditEntry(workspace=personas.workspace, action="list.created", target_label=t,
                   created_at=when)
        for t in labels
    )  # fmt: skip
    return Listing(
        "/settings/audit-log/",
        "/api/audit-log/",
        "audit",
        labels,
        r"<td>(target-\d+)</td>",
        lambda row: row["target_label"],
    )


def _sequence_people(personas) -> Listing:
    setup = make_sequence(personas.workspace)
    when = timezone.now()
    people = join(setup, ROWS)
    Enrollment.objects.bulk_create(
        Enrollment(workspace=personas.workspace, sequence=setup.sequence, recipient=p,
                   enrolled_at=when)
        for p in people
    )  # fmt: skip
    sid = setup.sequence.pk
    return Listing(
        reverse("automation:sequence", kwargs={"sequence_id": sid}),
        f"/api/sequences/{sid}/enrollments/",
        "enrollments",
        [p.email for p in people],
        r">(person\d+@example\.test)</a>",
        lambda row: row["email"],
    )


def _mailbox_messages(personas) -> Listing:
    mailbox = BounceMailbox.objects.create(
        workspace=personas.workspace, name="Bounces", host="imap.example.test", username="u",
        password="p",
    )  # fmt: skip
    when = timezone.now()
    made = MailboxMessage.objects.bulk_create(
        MailboxMessage(workspace=personas.workspace, mailbox=mailbox, key=f"imap:1:{i}",
                       outcome="ignored", received_at=when)
        for i in range(ROWS)
    )  # fmt: skip
    return Listing(
        reverse("tracking:mailbox_messages", kwargs={"mailbox_id": mailbox.pk}),
        f"/api/bounce-mailboxes/{mailbox.pk}/messages/",
        "messages",
        [str(m.pk) for m in made],
        r'data-message="(\d+)"',
        lambda row: str(row["id"]),
    )


LISTINGS = {
    "suppressions": _suppressions,
    "audit log": _audit_log,
    "sequence people": _sequence_people,
    "mailbox messages": _mailbox_messages,
}


def _counted(queries: CaptureQueriesContext) -> list[str]:
    """Counts of the kind a paginator makes for its page numbers (`.count()`)."""
    return [q["sql"] for q in queries if '"__count"' in q["sql"]]


@pytest.mark.parametrize("name", LISTINGS)
def test_the_page_reaches_every_row_once_older_and_newer(personas, owner_client, name):
    listing = LISTINGS[name](personas)
    pages: list[list[str]] = []
    url: str | None = listing.page
    while url is not None:
        with CaptureQueriesContext(connection) as queries:
            response = owner_client.get(url)
        assert response.status_code == 200
        html = response.content.decode()
        assert not _counted(queries)
        pages.append(re.findall(listing.row_pattern, html))
        older = link_href(html, f"{listing.prefix}-older")
        url = listing.page + older if older else None
        assert len(pages) <= 5, "the Older links go round in circles"
    assert [len(p) for p in pages] == [50, 50, 7]
    seen = [mark for page in pages for mark in page]
    assert sorted(seen) == sorted(listing.marks)
    # And back: Newer from the last page gives the pages before it, as they were.
    for before in reversed(pages[:-1]):
        newer = link_href(html, f"{listing.prefix}-newer")
        assert newer is not None
        html = owner_client.get(listing.page + newer).content.decode()
        assert re.findall(listing.row_pattern, html) == before
    assert link_href(html, f"{listing.prefix}-newer") is None


@pytest.mark.parametrize("name", LISTINGS)
def test_the_api_reaches_every_row_once_without_counting(personas, api_for, name):
    api = api_for("owner")
    listing = LISTINGS[name](personas)
    seen: list[str] = []
    url: str | None = f"{listing.api}?page_size=40"
    while url is not None:
        with CaptureQueriesContext(connection) as queries:
            response = api.get(url)
        assert response.status_code == 200, response.content
        assert not _counted(queries)
        body = response.json()
        assert set(body) == {"next", "first", "results"}
        assert len(body["results"]) <= 40
        seen += [listing.api_mark(row) for row in body["results"]]
        url = body["next"]
        assert len(seen) <= ROWS + 40, "the next links go round in circles"
    assert sorted(m for m in seen if m in set(listing.marks)) == sorted(listing.marks)
    assert len(seen) == len(set(seen))


@pytest.mark.parametrize("name", LISTINGS)
def test_a_page_size_out_of_range_is_a_clear_400(personas, api_for, name):
    listing = LISTINGS[name](personas)
    response = api_for("owner").get(f"{listing.api}?page_size=5000")
    assert response.status_code == 400
    assert "1 to 1000" in response.content.decode()


@pytest.mark.parametrize(
    ("q", "found"),
    [
        ("Blocked5@Example.test", ["blocked5@example.test"]),  # a whole address: that one
        ("blocked5@", ["blocked5@example.test", "xblocked5@example.test"]),  # part: anywhere
        ("nobody@example.test", []),
    ],
)
def test_searching_the_suppression_list(personas, owner_client, api_for, q, found):
    Suppression.objects.bulk_create(
        Suppression(workspace=personas.workspace, email=e)
        for e in ("blocked5@example.test", "xblocked5@example.test", "blocked6@example.test")
    )
    html = owner_client.get(reverse("audience:suppression"), {"q": q}).content.decode()
    assert sorted(re.findall(r"<td>([^<]+@example\.test)</td>", html)) == found
    if not found:
        assert "No suppressed address matches this search." in html
    rows = api_for("viewer").get("/api/suppressions/", {"q": q}).json()["results"]
    assert sorted(r["email"] for r in rows) == found


@pytest.mark.skipif(connection.vendor != "postgresql", reason="index plans are PostgreSQL's")
def test_looking_up_an_address_in_the_suppression_list_reads_one_entry(personas):
    Suppression.objects.bulk_create(
        Suppression(workspace=personas.workspace, email=f"blocked{i}@example.test")
        for i in range(300)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE audience_suppression")
        cursor.execute("SET LOCAL enable_seqscan = off")  # as on a list too large to read
    entries = Suppression.objects.filter(workspace=personas.workspace)
    found = suppressions_matching(entries, "blocked7@example.test").order_by("-created_at", "-id")
    sql, params = found[:51].query.sql_with_params()
    assert rows_read(sql, "audience_suppression", params) == 1
