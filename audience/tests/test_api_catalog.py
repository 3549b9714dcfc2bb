"""Custom fields, lists and their members, segments and their counts, the suppression list."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from audience import services
from audience.models import (
    AudienceJob,
    CustomField,
    Recipient,
    RecipientList,
    Segment,
    Suppression,
)
from audience.tests.api_helpers import error_of, field_messages, jwt_client

pytestmark = pytest.mark.django_db

OVER_40 = {"match": "all", "conditions": [{"field": "field:age", "op": "after", "value": 40}]}


def people(workspace, *ages):
    return [
        services.recipient_create(
            workspace=workspace, email=f"p{age}@example.com", values={}, fields={"age": age}
        )
        for age in ages
    ]


def test_custom_fields_are_defined_changed_and_deleted(workspace, api_for):
    api = api_for("editor")
    made = api.post(
        "/api/custom-fields/",
        {"key": "Plan", "label": "Plan", "type": "choice", "choices": ["Free", " Pro "]},
        format="json",
    )
    assert made.status_code == 201, made.content
    field = made.json()
    assert (field["key"], field["choices"]) == ("plan", ["Free", "Pro"])
    assert "standard field" in field_messages(
        api.post("/api/custom-fields/", {"key": "email"}, format="json"), "key"
    )
    assert "exists already" in field_messages(
        api.post("/api/custom-fields/", {"key": "plan"}, format="json"), "key"
    )
    for link in ("unsubscribe_url", "view_in_browser_url", "preferences_url"):
        refused = api.post("/api/custom-fields/", {"key": link}, format="json")
        assert "link every message has" in field_messages(refused, "key")
    assert "lower-case" in field_messages(
        api.post("/api/custom-fields/", {"key": "9x"}, format="json"), "key"
    )
    url = f"/api/custom-fields/{field['id']}/"
    changed = api.patch(url, {"label": "Tier", "type": "text"}, format="json")
    assert (changed.json()["label"], changed.json()["type"]) == ("Tier", "text")
    assert "cannot change" in field_messages(api.patch(url, {"key": "x"}, format="json"), "key")
    keys = [f["key"] for f in api.get("/api/custom-fields/").json()["results"]]
    assert keys == ["free_field1", "free_field2", "free_field3", "plan"]
    assert api.delete(url).status_code == 204
    assert not CustomField.objects.filter(key="plan").exists()


def test_lists_carry_member_counts_and_take_members_by_id_or_address(workspace, api_for):
    ada, bob, cy = people(workspace, 30, 41, 50)
    api = api_for("editor")
    made = api.post("/api/lists/", {"name": "Friends", "description": "Close"}, format="json")
    assert made.status_code == 201
    list_id = made.json()["id"]
    assert made.json()["members"] == 0
    assert "exists already" in field_messages(
        api.post("/api/lists/", {"name": "Friends"}, format="json"), "name"
    )
    members = f"/api/lists/{list_id}/members/"
    added = api.post(
        members,
        {"ids": [ada.pk, 999999], "emails": ["P41@Example.com", "nobody@example.com", "junk"]},
        format="json",
    )
    assert added.json() == {"count": 2, "not_found": ["junk", "999999", "nobody@example.com"]}
    assert api.get(f"/api/lists/{list_id}/").json()["members"] == 2
    removed = api.delete(members, {"emails": ["p30@example.com"]}, format="json")
    assert removed.status_code == 200
    assert list(RecipientList.objects.get(pk=list_id).recipients.all()) == [bob]
    assert field_messages(api.post(members, {}, format="json"), "ids")
    renamed = api.patch(f"/api/lists/{list_id}/", {"name": "Pals"}, format="json")
    assert (renamed.json()["name"], renamed.json()["members"]) == ("Pals", 1)
    assert api.delete(f"/api/lists/{list_id}/").status_code == 204
    assert Recipient.objects.filter(pk=cy.pk).exists()  # recipients stay


def test_segments_are_validated_and_counted_as_in_the_ui(workspace, api_for):
    services.custom_field_create(workspace=workspace, key="age", label="Age", type="number")
    people(workspace, 30, 41, 50)
    api = api_for("editor")
    made = api.post("/api/segments/", {"name": "Over 40", "definition": OVER_40}, format="json")
    assert made.status_code == 201, made.content
    segment_id = made.json()["id"]
    assert api.get(f"/api/segments/{segment_id}/count/").json() == {"count": 2}
    bad = {"match": "all", "conditions": [{"field": "field:nope", "op": "equals", "value": 1}]}
    assert "Unknown field" in field_messages(
        api.post("/api/segments/", {"name": "Bad", "definition": bad}, format="json"),
        "definition",
    )
    assert "Unknown operator" in field_messages(
        api.patch(
            f"/api/segments/{segment_id}/",
            {"definition": {"conditions": [{"field": "email", "op": "near"}]}},
            format="json",
        ),
        "definition",
    )
    nul = {"match": "all", "conditions": [{"field": "email", "op": "equals", "value": "a\x00"}]}
    assert "Null characters" in field_messages(
        api.post("/api/segments/count/", {"definition": nul}, format="json"), "definition"
    )
    under = {"match": "all", "conditions": [{"field": "field:age", "op": "before", "value": 45}]}
    viewer = jwt_client(workspace.memberships.get(role="viewer").user)
    counted = viewer.post("/api/segments/count/", {"definition": under}, format="json")
    assert counted.json() == {"count": 2}  # a viewer may count: it saves nothing
    assert field_messages(
        viewer.post("/api/segments/count/", {"definition": bad}, format="json"), "definition"
    )
    assert error_of(viewer.post("/api/segments/", {"name": "X", "definition": under}), 403)
    assert api.delete(f"/api/segments/{segment_id}/").status_code == 204
    assert not Segment.objects.exists()


def test_suppressions_editors_add_owners_remove(workspace, api_for):
    editor = api_for("editor")
    made = editor.post("/api/suppressions/", {"email": "Spam@Example.com"}, format="json")
    assert made.status_code == 201
    assert (made.json()["email"], made.json()["reason"]) == ("spam@example.com", "manual")
    again = editor.post("/api/suppressions/", {"email": "spam@example.com"}, format="json")
    assert again.status_code == 200
    assert field_messages(editor.post("/api/suppressions/", {"email": "x"}, format="json"), "email")
    entry_id = made.json()["id"]
    assert error_of(editor.delete(f"/api/suppressions/{entry_id}/"), 403)
    assert api_for("owner").delete(f"/api/suppressions/{entry_id}/").status_code == 204
    assert not Suppression.objects.exists()


def test_suppressions_are_imported_from_a_list_or_a_csv_and_searched(workspace, api_for):
    api = api_for("editor")
    listed = api.post(
        "/api/suppressions/import/",
        {"emails": ["a@example.com", "B@example.com", "broken", "a@example.com"]},
        format="json",
    )
    assert listed.json() == {"added": 2, "invalid": ["broken"]}
    csv = SimpleUploadedFile("block.csv", b"email\nc@example.com\nb@example.com\n", "text/csv")
    uploaded = api.post("/api/suppressions/import/", {"file": csv}, format="multipart")
    assert uploaded.json() == {"added": 1, "invalid": []}
    assert field_messages(api.post("/api/suppressions/import/", {}, format="json"), "emails")
    found = api.get("/api/suppressions/?q=b@").json()
    assert [s["email"] for s in found["results"]] == ["b@example.com"]
    assert field_messages(api.get("/api/suppressions/?reason=odd"), "reason")


def test_list_endpoints_never_show_another_workspace(workspace, personas, api_for):
    foreign = personas.other_workspace
    services.workspace_initialize(workspace=foreign)
    services.custom_field_create(workspace=foreign, key="secret", label="Secret", type="text")
    theirs = services.recipient_create(
        workspace=foreign, email="theirs@globex.com", values={}, fields={"secret": "x"}
    )
    their_list = services.list_create(workspace=foreign, name="Globex list")
    services.recipients_bulk_apply(
        workspace=foreign, action="add_to_list", ids=[theirs.pk], recipient_list=their_list
    )
    their_segment = services.segment_save(
        workspace=foreign, name="Globex segment", definition={"match": "all", "conditions": []}
    )
    services.suppression_add(workspace=foreign, email="blocked@globex.com")
    AudienceJob.objects.create(
        workspace=foreign, kind="import", status="done", file_name="globex.csv", params={}
    )
    AudienceJob.objects.create(
        workspace=foreign, kind="bulk", params={"action": "delete", "filter": {"q": "globex"}}
    )
    mine = services.recipient_create(
        workspace=workspace, email="mine@acme.com", values={}, fields={}
    )
    api = api_for("viewer")
    pages = [
        "/api/recipients/",
        f"/api/recipients/?list_id={their_list.pk}",
        f"/api/recipients/?segment_id={their_segment.pk}",
        "/api/recipients/export/",
        "/api/custom-fields/",
        "/api/lists/",
        "/api/segments/",
        "/api/suppressions/",
        "/api/imports/",
        "/api/bulk-jobs/",
    ]
    for url in pages:
        response = api.get(url)
        assert response.status_code == 200, url
        text = (
            b"".join(response.streaming_content) if response.streaming else response.content
        ).decode()
        assert "globex" not in text.lower(), url
        assert "secret" not in text, url
    assert [r["id"] for r in api.get("/api/recipients/").json()["results"]] == [mine.pk]
    assert api.get("/api/bulk-jobs/").json()["count"] == 0  # their job shows no marker
    assert api.get(f"/api/recipients/{theirs.pk}/").status_code == 404
    editor = api_for("editor")
    members = editor.post(f"/api/lists/{their_list.pk}/members/", {"ids": [mine.pk]}, format="json")
    assert members.status_code == 404
    sneaky = editor.post(
        "/api/recipients/bulk-action/",
        {"action": "add_to_list", "list_id": their_list.pk, "ids": [mine.pk]},
        format="json",
    )
    assert str(their_list.pk) in field_messages(sneaky, "list_id")
    assert their_list.recipients.count() == 1


WRITES = [
    ("post", "/api/recipients/", {"email": "x@example.com"}),
    ("post", "/api/recipients/bulk/", {"recipients": [{"email": "x@example.com"}]}),
    ("post", "/api/recipients/bulk-action/", {"action": "delete", "filter": {}}),
    ("post", "/api/custom-fields/", {"key": "plan"}),
    ("post", "/api/lists/", {"name": "L"}),
    ("post", "/api/segments/", {"name": "S", "definition": {"conditions": []}}),
    ("post", "/api/suppressions/", {"email": "x@example.com"}),
    ("post", "/api/suppressions/import/", {"emails": ["x@example.com"]}),
]


@pytest.mark.parametrize(("method", "url", "body"), WRITES, ids=[w[1] for w in WRITES])
@pytest.mark.parametrize("auth", ["api_key", "jwt"])
def test_viewers_get_403_on_every_write_and_change_nothing(
    workspace, personas, api_for, method, url, body, auth
):
    existing = people(workspace, 30)[0]
    client = api_for("viewer") if auth == "api_key" else jwt_client(personas.viewer)
    response = getattr(client, method)(url, body, format="json")
    assert error_of(response, 403)["code"] == "permission_denied"
    for detail in (f"/api/recipients/{existing.pk}/",):
        assert error_of(client.patch(detail, {"first_name": "X"}, format="json"), 403)
        assert error_of(client.delete(detail), 403)
    assert list(Recipient.objects.values_list("email", flat=True)) == ["p30@example.com"]
    assert not RecipientList.objects.exists()
    assert not Suppression.objects.exists()
