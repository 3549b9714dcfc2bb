"""The recipients table at scale: search served by trigram indexes, sorting only by indexes;
the suppression list read a page at a time."""

from __future__ import annotations

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from audience import selectors
from audience.models import Recipient, Suppression, SuppressionReason
from audience.tests.api_helpers import field_messages
from core.testing.plans import page_rows_read


def _people(workspace) -> None:
    Recipient.objects.bulk_create(
        [
            Recipient(workspace=workspace, email="b@example.com", company="Zeta", city="Alpha"),
            Recipient(workspace=workspace, email="a@example.com", company="Acme", city="Zulu"),
        ]
    )


def _explain(qs, *avoid: str) -> str:
    """The plan of `qs` with `avoid`ed plan nodes priced out: a tiny table is read whole and
    sorted whatever its indexes, so ask what the planner could do instead."""
    sql, params = qs.query.sql_with_params()
    with connection.cursor() as cursor:
        for node in avoid:
            cursor.execute(f"SET LOCAL enable_{node} = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.skipif(connection.vendor != "postgresql", reason="pg_trgm is PostgreSQL's")
def test_a_search_by_fragment_reads_one_trigram_index(workspace):
    # Whether the planner picks it depends on the table's size (bench/bench_search.py
    # measures a million rows); what matters here is that the expression matches the index.
    _people(workspace)
    qs = Recipient.objects.filter(selectors.search_q("xampl"))
    plan = _explain(qs, "seqscan")
    assert "recipient_search_trgm" in plan, plan
    found = selectors.recipients_matching(workspace, selectors.RecipientFilter(q=" XAMPL "))
    assert sorted(found.values_list("email", flat=True)) == ["a@example.com", "b@example.com"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="index methods are PostgreSQL's")
@pytest.mark.django_db
def test_an_import_writes_one_trigram_index_and_no_index_of_the_workspace_alone():
    # Each GIN index costs an import about 10 µs a row (bench/bench_import.py), and the
    # workspace alone is the first column of every other index.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, a.amname, i.indkey::text FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam "
            "WHERE i.indrelid = 'audience_recipient'::regclass"
        )
        indexes = cursor.fetchall()
        cursor.execute(
            "SELECT attnum::text FROM pg_attribute "
            "WHERE attrelid = 'audience_recipient'::regclass AND attname = 'workspace_id'"
        )
        (workspace_column,) = cursor.fetchone()
    assert [name for name, method, _ in indexes if method == "gin"] == ["recipient_search_trgm"]
    assert [name for name, _, columns in indexes if columns == workspace_column] == []


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("LOVELACE@ANALYTICAL", ["ada"]),  # e-mail
        ("ugust", ["ada"]),  # first name
        ("VELA", ["ada"]),  # last name
        ("engine", ["ada"]),  # company
        ("HOPPER", ["grace"]),
        ("a", ["ada", "grace"]),  # shorter than a trigram
        ("ada lovelace", []),  # first and last name are two columns
        ("lovelaceanalytical", []),  # nor does a term run on from one column into the next
        ("lovelace\x01analytical", []),  # even with the separator of the index's expression
    ],
)
def test_a_search_finds_a_fragment_of_any_one_column_in_any_case(workspace, term, expected):
    Recipient.objects.bulk_create(
        [
            Recipient(
                workspace=workspace,
                email="lovelace@analytical.example",
                first_name="Augusta Ada",
                last_name="Lovelace",
                company="Analytical Engine",
            ),
            Recipient(
                workspace=workspace,
                email="grace@navy.example",
                first_name="Grace",
                last_name="Hopper",
            ),
        ]
    )
    found = selectors.recipients_matching(workspace, selectors.RecipientFilter(q=term))
    names = sorted(found.values_list("first_name", flat=True))
    assert [name.split()[-1].lower() for name in names] == sorted(expected)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="index plans are PostgreSQL's")
@pytest.mark.parametrize("sort", selectors.SORTABLE)
def test_every_sortable_column_is_read_in_index_order(workspace, sort):
    qs = Recipient.objects.filter(workspace=workspace).order_by(sort, "pk")[:51]
    plan = _explain(qs, "seqscan", "sort")
    # A full Sort node would sort every row; an Incremental Sort only orders ties of the index.
    nodes = [line.strip().removeprefix("->").strip() for line in plan.splitlines()]
    assert not any(node.startswith("Sort  (") for node in nodes), plan


@pytest.mark.skipif(connection.vendor != "postgresql", reason="index plans are PostgreSQL's")
@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("sort", selectors.SORTABLE)
def test_a_page_reads_one_page_of_rows_when_every_row_ties(workspace, sort, descending):
    # An import gives every row it adds one created_at and updated_at, and a list without
    # companies leaves them all ""; ties left to a sort were sorted whole for every page.
    when = timezone.now()
    Recipient.objects.bulk_create(
        Recipient(workspace=workspace, email=f"p{i}@example.com", created_at=when, updated_at=when)
        for i in range(300)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE audience_recipient")
    qs = Recipient.objects.filter(workspace=workspace)
    page = selectors.recipients_page(qs, sort=sort, descending=descending, cursor="", size=20)
    assert len(page.rows) == 20
    assert page.next_cursor
    order = (f"-{sort}", "-pk") if descending else (sort, "pk")
    # 21 rows, and one more where an incremental sort closes the last group of unique emails
    assert page_rows_read(qs.order_by(*order)[:21], "audience_recipient") <= 22


@pytest.mark.skipif(connection.vendor != "postgresql", reason="index plans are PostgreSQL's")
def test_a_page_of_suppressions_reads_one_page_of_rows(workspace, api_for):
    # An imported list of addresses shares one created_at; the page and the API list them
    # newest first (Suppression's ordering).
    when = timezone.now()
    Suppression.objects.bulk_create(
        Suppression(
            workspace=workspace,
            email=f"s{i}@example.com",
            reason=SuppressionReason.MANUAL,
            created_at=when,
        )
        for i in range(300)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE audience_suppression")
    assert page_rows_read(selectors.suppressions_of(workspace)[:50], "audience_suppression") <= 50
    rows = api_for("viewer").get("/api/suppressions/").json()["results"]
    assert [row["email"] for row in rows[:2]] == ["s299@example.com", "s298@example.com"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="pg_trgm is PostgreSQL's")
def test_a_search_of_the_suppressions_by_part_of_an_address_reads_a_trigram_index(
    workspace, api_for
):
    # At 1,000,000 entries a rare part read them all in 223 ms (bench/bench_search.py
    # measures it); here, that the search's expression is the index's.
    Suppression.objects.bulk_create(
        Suppression(workspace=workspace, email=email, reason=SuppressionReason.BOUNCED)
        for email in ("ada.lovelace@example.com", "grace@navy.example", "alan@example.org")
    )
    # The search's own condition, without the workspace's (which a tiny table would be read
    # by): only the trigram index can serve it.
    unscoped = selectors.suppressions_matching(Suppression.objects.order_by(), " LoveLace ")
    plan = _explain(unscoped, "seqscan")
    assert "suppression_email_trgm" in plan, plan
    qs = selectors.suppressions_matching(selectors.suppressions_of(workspace), " LoveLace ")
    assert list(qs.values_list("email", flat=True)) == ["ada.lovelace@example.com"]
    rows = api_for("viewer").get("/api/suppressions/", {"q": "NAVY"}).json()["results"]
    assert [row["email"] for row in rows] == ["grace@navy.example"]


def test_a_page_refuses_a_column_without_an_index(workspace):
    qs = Recipient.objects.filter(workspace=workspace)
    with pytest.raises(ValueError, match="not sorted by 'city'"):
        selectors.recipients_page(qs, sort="city", descending=False, cursor="")


def test_the_table_sorts_by_an_indexed_column(viewer_client, workspace):
    _people(workspace)
    page = viewer_client.get(reverse("audience:index"), {"sort": "company"}).content.decode()
    assert page.index("a@example.com") < page.index("b@example.com")
    assert "sort=company" in page
    assert "sort=city" not in page  # the header of a column without an index is no link


def test_the_table_says_it_ignores_a_sort_without_an_index(viewer_client, workspace):
    _people(workspace)
    response = viewer_client.get(reverse("audience:index"), {"sort": "city", "dir": "desc"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "cannot be sorted by “city”; it is sorted by e-mail" in page
    assert page.index("a@example.com") < page.index("b@example.com")  # by e-mail, ascending


@pytest.mark.parametrize("ordering", ["city", "-first_name", "comment"])
def test_the_api_refuses_an_ordering_without_an_index(workspace, api_for, ordering):
    response = api_for("viewer").get(f"/api/recipients/?ordering={ordering}")
    assert response.status_code == 400
    assert field_messages(response, "ordering")


def test_the_api_orders_by_company(workspace, api_for):
    _people(workspace)
    rows = api_for("viewer").get("/api/recipients/?ordering=-company").json()["results"]
    assert [row["email"] for row in rows] == ["b@example.com", "a@example.com"]
