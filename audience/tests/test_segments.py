"""Segments compile to one query that works on SQLite and PostgreSQL alike."""

from __future__ import annotations

import pytest

from audience import selectors, services
from audience.emails import InvalidEmail, normalize_email
from audience.models import CustomField, Recipient
from audience.segments import SegmentError
from audience.tests.factories import RecipientFactory, RecipientListFactory


@pytest.fixture
def people(workspace):
    CustomField.objects.create(workspace=workspace, key="age", label="Age", type="number")
    CustomField.objects.create(workspace=workspace, key="born", label="Born", type="date")
    CustomField.objects.create(workspace=workspace, key="vip", label="VIP", type="boolean")
    rows = [
        ("ann@example.com", "Ann", "UK", "active", {"age": 30, "born": "1994-01-05", "vip": True}),
        ("bob@example.com", "Bob", "USA", "active", {"age": 45, "born": "1979-07-01"}),
        ("cyd@example.org", "Cyd", "", "unsubscribed", {"age": 8, "free_field1": "VIP"}),
        ("dan@example.org", "", "UK", "bounced", {}),
    ]
    made = [
        RecipientFactory.create(
            workspace=workspace, email=e, first_name=n, country=c, status=s, fields=f
        )
        for e, n, c, s, f in rows
    ]
    clients = RecipientListFactory.create(
        workspace=workspace, name="Clients", members=[made[0], made[2]]
    )
    return {"list": clients}


def matching(workspace, definition) -> list[str]:
    qs = Recipient.objects.filter(workspace=workspace).filter(
        selectors.segment_q(workspace, definition)
    )
    return sorted(qs.values_list("email", flat=True))


def cond(field, op, value=None):
    return {"field": field, "op": op, "value": value}


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (cond("country", "equals", "uk"), ["ann", "dan"]),
        (cond("email", "contains", "example.org"), ["cyd", "dan"]),
        (cond("first_name", "starts_with", "b"), ["bob"]),
        (cond("first_name", "is_empty"), ["dan"]),
        (cond("country", "not_empty"), ["ann", "bob", "dan"]),
        (cond("status", "equals", "active"), ["ann", "bob"]),
        (cond("status", "not_equals", "active"), ["cyd", "dan"]),
        (cond("field:age", "after", "29"), ["ann", "bob"]),
        (cond("field:age", "before", "10"), ["cyd"]),
        (cond("field:age", "equals", "45"), ["bob"]),
        (cond("field:born", "before", "1990-01-01"), ["bob"]),
        (cond("field:born", "after", "1990-01-01"), ["ann"]),
        (cond("field:vip", "equals", "yes"), ["ann"]),
        (cond("field:free_field1", "equals", "vip"), ["cyd"]),
        (cond("field:free_field1", "is_empty"), ["ann", "bob", "dan"]),
        (cond("field:age", "is_empty"), ["dan"]),
    ],
    ids=lambda v: v["field"] + "-" + v["op"] if isinstance(v, dict) else "",
)
def test_each_operator(workspace, people, condition, expected):
    got = matching(workspace, {"match": "all", "conditions": [condition]})
    assert [e.split("@")[0] for e in got] == expected


def test_list_membership_and_nested_groups(workspace, people):
    list_id = people["list"].pk
    assert len(matching(workspace, {"conditions": [cond("list", "in_list", list_id)]})) == 2
    assert matching(workspace, {"conditions": [cond("list", "not_in_list", list_id)]}) == [
        "bob@example.com",
        "dan@example.org",
    ]
    nested = {
        "match": "all",
        "conditions": [
            cond("status", "equals", "active"),
            {
                "match": "any",
                "conditions": [cond("country", "equals", "USA"), cond("list", "in_list", list_id)],
            },
        ],
    }
    assert matching(workspace, nested) == ["ann@example.com", "bob@example.com"]


def test_a_segment_count_is_one_query(workspace, people, django_assert_num_queries):
    definition = {
        "match": "any",
        "conditions": [
            cond("field:age", "after", "40"),
            cond("list", "in_list", people["list"].pk),
        ],
    }
    custom_types = selectors.custom_field_types(workspace)
    with django_assert_num_queries(1):
        from audience.segments import compile_definition

        q = compile_definition(definition, custom_types)
        assert Recipient.objects.filter(workspace=workspace).filter(q).count() == 3


@pytest.mark.parametrize(
    "definition",
    [
        {"conditions": [cond("nope", "equals", "x")]},
        {"conditions": [cond("email", "explode", "x")]},
        {"match": "sometimes", "conditions": []},
        {"conditions": [cond("field:age", "after", "old")]},
        {"conditions": [cond("list", "in_list", "")]},
        "not a group",
    ],
)
def test_bad_definitions_are_refused_with_a_reason(workspace, people, definition):
    with pytest.raises(SegmentError):
        selectors.segment_q(workspace, definition)


def test_a_segment_of_another_workspace_filters_nobody_in(workspace, personas):
    foreign = services.segment_save(
        workspace=personas.other_workspace, name="x", definition={"conditions": []}
    )
    RecipientFactory.create(workspace=workspace, email="a@example.com")
    flt = selectors.RecipientFilter(segment_id=foreign.pk)
    assert not selectors.recipients_matching(workspace, flt).exists()


def test_keyset_pages_cover_every_row_once_in_order(workspace):
    Recipient.objects.bulk_create(
        [
            Recipient(workspace=workspace, email=f"p{i:03}@example.com", company=f"C{i % 4}")
            for i in range(23)
        ]
    )
    qs = Recipient.objects.filter(workspace=workspace)
    for sort, descending in (("email", False), ("company", True), ("created_at", False)):
        seen, cursor = [], ""
        while True:
            page = selectors.recipients_page(
                qs, sort=sort, descending=descending, cursor=cursor, size=5
            )
            seen += [r.pk for r in page.rows]
            if not page.next_cursor:
                break
            cursor = page.next_cursor
        assert len(seen) == len(set(seen)) == 23, sort


def test_a_page_does_not_count(workspace, django_assert_num_queries):
    RecipientFactory.create(workspace=workspace, email="a@example.com")
    qs = Recipient.objects.filter(workspace=workspace)
    with django_assert_num_queries(1) as captured:
        selectors.recipients_page(qs, sort="email", descending=False, cursor="")
    sql = captured.captured_queries[0]["sql"].upper()
    assert "COUNT(" not in sql
    assert "OFFSET" not in sql


@pytest.mark.parametrize(
    ("raw", "stored"),
    [(" John.Doe@Example.COM ", "john.doe@example.com"), ("ü@bücher.de", "ü@bücher.de")],
)
def test_emails_are_normalised(raw, stored):
    assert normalize_email(raw) == stored


@pytest.mark.parametrize("raw", ["", "plain", "a@b", "a..b@example.com", "a@example.invalid"])
def test_invalid_emails_are_refused(raw):
    with pytest.raises(InvalidEmail):
        normalize_email(raw)
