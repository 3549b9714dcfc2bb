"""The recipients table at scale: search served by trigram indexes, sorting only by indexes."""

from __future__ import annotations

import pytest
from django.db import connection
from django.urls import reverse

from audience import selectors
from audience.models import Recipient
from audience.tests.api_helpers import field_messages


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
def test_a_search_by_fragment_can_read_the_trigram_indexes(workspace):
    # Whether the planner picks them depends on the table's size (bench/bench_search.py
    # measures a million rows); what matters here is that the expressions match the indexes.
    _people(workspace)
    qs = Recipient.objects.filter(selectors.search_q("xampl"))
    plan = _explain(qs, "seqscan")
    for column in ("email", "first_name", "last_name", "company"):
        assert f"recipient_{column}_trgm" in plan, plan
    found = selectors.recipients_matching(workspace, selectors.RecipientFilter(q=" XAMPL "))
    assert sorted(found.values_list("email", flat=True)) == ["a@example.com", "b@example.com"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="index plans are PostgreSQL's")
@pytest.mark.parametrize("sort", selectors.SORTABLE)
def test_every_sortable_column_is_read_in_index_order(workspace, sort):
    qs = Recipient.objects.filter(workspace=workspace).order_by(sort, "pk")[:51]
    plan = _explain(qs, "seqscan", "sort")
    # A full Sort node would sort every row; an Incremental Sort only orders ties of the index.
    nodes = [line.strip().removeprefix("->").strip() for line in plan.splitlines()]
    assert not any(node.startswith("Sort  (") for node in nodes), plan


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
