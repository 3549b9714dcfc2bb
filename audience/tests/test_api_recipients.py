from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from audience import services
from audience.models import Recipient, RecipientStatus
from audience.tests.api_helpers import error_of, field_messages, jwt_client, streamed_text

pytestmark = pytest.mark.django_db


@pytest.fixture
def typed(workspace):
    """The workspace with a number, a date, a yes/no and a choice field."""
    services.custom_field_create(workspace=workspace, key="age", label="Age", type="number")
    services.custom_field_create(workspace=workspace, key="joined", label="Joined", type="date")
    services.custom_field_create(workspace=workspace, key="vip", label="VIP", type="boolean")
    services.custom_field_create(
        workspace=workspace, key="plan", label="Plan", type="choice", choices=["Free", "Pro"]
    )
    return workspace


def add(workspace, email, **fields):
    return services.recipient_create(workspace=workspace, email=email, values={}, fields=fields)


def test_an_editor_creates_a_recipient_with_typed_custom_values(typed, api_for):
    api = api_for("editor")
    response = api.post(
        "/api/recipients/",
        {
            "email": " Ada@Example.COM ",
            "first_name": "Ada",
            "fields": {"age": "41", "joined": "21.11.2026", "vip": True, "plan": "pro"},
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["email"] == "ada@example.com"
    assert body["status"] == "active"
    assert body["fields"] == {"age": 41, "joined": "2026-11-21", "vip": True, "plan": "Pro"}
    stored = Recipient.objects.get(pk=body["id"])
    assert stored.fields["age"] == 41  # stored as a JSON number, as the UI stores it
    assert api.get(f"/api/recipients/{stored.pk}/").json()["first_name"] == "Ada"


def test_a_present_address_answers_409_email_taken(workspace, api_for):
    add(workspace, "ada@example.com")
    other = add(workspace, "bob@example.com")
    api = api_for("editor")
    response = api.post("/api/recipients/", {"email": "ADA@example.com"}, format="json")
    assert error_of(response, 409)["code"] == "email_taken"
    moved = api.patch(f"/api/recipients/{other.pk}/", {"email": "ada@example.com"}, format="json")
    assert error_of(moved, 409)["code"] == "email_taken"
    assert Recipient.objects.filter(workspace=workspace).count() == 2


def test_bad_values_answer_400_naming_each_field(typed, api_for):
    api = api_for("editor")
    response = api.post(
        "/api/recipients/",
        {"email": "ada@example.com", "fields": {"age": "old", "nope": "1", "plan": "Gold"}},
        format="json",
    )
    assert "not a number" in field_messages(response, "fields", "age")
    assert "no custom field" in field_messages(response, "fields", "nope")
    assert "not one of Free, Pro" in field_messages(response, "fields", "plan")
    invalid = api.post("/api/recipients/", {"email": "not-an-address"}, format="json")
    assert field_messages(invalid, "email")
    status = api.post("/api/recipients/", {"email": "a@b.com", "status": "gone"}, format="json")
    assert field_messages(status, "status")
    assert not Recipient.objects.exists()


def test_patch_changes_given_values_and_keeps_the_rest(typed, api_for):
    recipient = add(typed, "ada@example.com", age=41, plan="Free")
    api = api_for("editor")
    response = api.patch(
        f"/api/recipients/{recipient.pk}/",
        {"last_name": "Lovelace", "status": "unsubscribed", "fields": {"plan": "Pro"}},
        format="json",
    )
    assert response.status_code == 200, response.content
    recipient.refresh_from_db()
    assert recipient.last_name == "Lovelace"
    assert recipient.status == RecipientStatus.UNSUBSCRIBED
    assert recipient.fields == {"age": 41, "plan": "Pro"}
    put = api.put(f"/api/recipients/{recipient.pk}/", {"first_name": "A"}, format="json")
    assert field_messages(put, "email")  # PUT needs the address


def test_delete_and_erase(workspace, api_for):
    api = api_for("editor")
    kept = add(workspace, "kept@example.com", free_field1="x")
    data = api_for("viewer").get(f"/api/recipients/{kept.pk}/data/").json()
    assert (data["email"], data["custom_fields"], data["lists"]) == (
        "kept@example.com",
        {"free_field1": "x"},
        [],
    )
    gone = add(workspace, "gone@example.com")
    assert api.delete(f"/api/recipients/{gone.pk}/").status_code == 204
    assert not Recipient.objects.filter(pk=gone.pk).exists()
    erased = add(workspace, "erased@example.com")
    response = api.post(
        f"/api/recipients/{erased.pk}/erase/", {"keep_blocked": True}, format="json"
    )
    assert response.status_code == 204
    assert not Recipient.objects.filter(pk=erased.pk).exists()
    assert workspace.suppressions.get().email == "erased@example.com"


def test_the_list_filters_by_status_list_segment_search_dates_and_custom_fields(typed, api_for):
    ada = add(typed, "ada@example.com", age=41, vip=True)
    bob = add(typed, "bob@example.com", age=30)
    cy = services.recipient_create(
        workspace=typed,
        email="cy@example.com",
        values={"first_name": "Cyrus", "status": "unsubscribed"},
        fields={},
    )
    Recipient.objects.filter(pk=bob.pk).update(created_at=timezone.now() - timedelta(days=10))
    friends = services.list_create(workspace=typed, name="Friends")
    services.recipients_bulk_apply(
        workspace=typed, action="add_to_list", ids=[ada.pk, cy.pk], recipient_list=friends
    )
    grown = services.segment_save(
        workspace=typed,
        name="Over 35",
        definition={
            "match": "all",
            "conditions": [{"field": "field:age", "op": "after", "value": 35}],
        },
    )
    api = jwt_client(typed.memberships.get(role="viewer").user)

    def emails(query: str) -> list[str]:
        response = api.get(f"/api/recipients/?{query}")
        assert response.status_code == 200, response.content
        return [row["email"] for row in response.json()["results"]]

    assert emails("") == ["ada@example.com", "bob@example.com", "cy@example.com"]
    assert emails("status=unsubscribed") == ["cy@example.com"]
    assert emails(f"list_id={friends.pk}") == ["ada@example.com", "cy@example.com"]
    assert emails(f"segment_id={grown.pk}") == ["ada@example.com"]
    assert emails("q=cyr") == ["cy@example.com"]
    assert emails("field.age=30") == ["bob@example.com"]
    assert emails("field.vip=true&field.age=41") == ["ada@example.com"]
    since = (timezone.now() - timedelta(days=1)).date().isoformat()
    assert emails(f"created_before={since}") == ["bob@example.com"]
    assert emails(f"created_after={since}&ordering=-email") == ["cy@example.com", "ada@example.com"]
    row = api.get(f"/api/recipients/?list_id={friends.pk}&q=ada").json()["results"][0]
    assert row["list_ids"] == [friends.pk]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=gone", "status"),
        ("list_id=abc", "list_id"),
        ("created_after=yesterday", "created_after"),
        ("field.age=old", "field.age"),
        ("field.age=1e400", "field.age"),  # infinity: JSON and the databases have none
        ("q=%00", "q"),  # PostgreSQL cannot compare text with a NUL character
        ("field.nope=1", "field.nope"),
        ("ordering=password", "ordering"),
        ("page_size=0", "page_size"),
    ],
)
def test_a_bad_filter_is_a_400_in_the_error_shape(typed, api_for, query, field):
    response = api_for("viewer").get(f"/api/recipients/?{query}")
    assert field_messages(response, field)


@pytest.mark.parametrize("ordering", ["email", "-created_at", "updated_at"])
def test_keyset_pages_walk_every_row_once_even_when_rows_share_a_time(workspace, api_for, ordering):
    services.recipients_upsert(
        workspace=workspace,
        rows=[{"email": f"p{n:03}@example.com"} for n in range(25)],
        update_existing=False,
    )  # one statement: all 25 rows have the same created_at and updated_at
    api = api_for("viewer")
    seen: list[str] = []
    url = f"/api/recipients/?page_size=7&ordering={ordering}"
    while url:
        page = api.get(url).json()
        seen += [row["email"] for row in page["results"]]
        url = page["next"]
    assert len(seen) == 25
    assert len(set(seen)) == 25


def test_the_list_pages_in_a_fixed_number_of_queries(workspace, api_for, django_assert_num_queries):
    lists = [services.list_create(workspace=workspace, name=f"L{n}") for n in range(3)]
    for n in range(30):
        person = add(workspace, f"p{n}@example.com")
        services.recipients_bulk_apply(
            workspace=workspace, action="add_to_list", ids=[person.pk], recipient_list=lists[n % 3]
        )
    api = api_for("viewer")
    api.get("/api/recipients/")  # warm the key lookup's caches
    # key + last_used, the page, the lists of the page's rows (no query per row)
    with django_assert_num_queries(4, exact=False):
        response = api.get("/api/recipients/?page_size=30")
    assert len(response.json()["results"]) == 30


def test_export_streams_the_filtered_recipients_as_csv(typed, api_for):
    add(typed, "ada@example.com", age=41)
    add(typed, "=cmd@example.com", age=30)
    services.recipient_create(
        workspace=typed, email="bob@example.com", values={"first_name": "=SUM(A1)"}, fields={}
    )
    response = api_for("viewer").get("/api/recipients/export/?q=example", HTTP_ACCEPT="text/csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = streamed_text(response)
    lines = text.splitlines()
    assert lines[0].startswith("email,first_name,last_name")
    assert "age" in lines[0]
    assert len(lines) == 4
    assert "'=SUM(A1)" in text  # neutralised for spreadsheets
    only = api_for("viewer").get("/api/recipients/export/?field.age=41")
    assert len(streamed_text(only).splitlines()) == 2
    bad = api_for("viewer").get("/api/recipients/export/?status=gone", HTTP_ACCEPT="text/csv")
    assert bad.status_code == 400
    assert json.loads(bad.content)["error"]["fields"]["status"]


@pytest.mark.parametrize("moment", ["0375-05-28T16:00:30+21:50", "0001-01-01T00:00:00+01:00"])
def test_any_iso_moment_filters_or_is_refused_never_a_500(api_for, moment):
    response = api_for("viewer").get("/api/recipients/", {"created_after": moment})
    assert response.status_code in (200, 400), response.content[:300]
