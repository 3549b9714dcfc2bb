"""/api/dkim-keys/, /api/captured-messages/ and POST /api/templates/{id}/test-send/."""

from __future__ import annotations

import pytest

from audience.models import Recipient
from content.tests.factories import TemplateFactory
from sending.models import AccountKind, AccountStatus, CapturedMessage, DkimKey, SendingAccount
from sending.services import workspace_initialize
from sending.tests.factories import CapturedMessageFactory, SendingAccountFactory

pytestmark = pytest.mark.django_db

KEYS = "/api/dkim-keys/"
CAPTURED = "/api/captured-messages/"


def test_an_owner_makes_a_dkim_key_and_sees_only_the_record(personas, api_for):
    owner = api_for("owner")
    response = owner.post(KEYS, {"domain": "Acme.Example.", "selector": "news"})
    assert response.status_code == 201
    body = response.json()
    key = DkimKey.objects.get(pk=body["id"], workspace=personas.workspace)
    assert (body["domain"], body["selector"]) == ("acme.example", "news")
    assert body["record_name"] == "news._domainkey.acme.example"
    assert body["record_type"] == "TXT"
    assert body["record_value"] == f"v=DKIM1; k=rsa; p={key.public_key}"
    for text in (response.content, owner.get(KEYS).content, owner.get(f"{KEYS}{key.pk}/").content):
        assert b"PRIVATE KEY" not in text
        assert key.private_key.encode() not in text
    assert owner.delete(f"{KEYS}{key.pk}/").status_code == 204
    assert not DkimKey.objects.exists()


@pytest.mark.parametrize(
    ("given", "words"),
    [
        ({"domain": "not a domain"}, "is not a domain name"),
        ({"domain": "acme.example", "selector": "bad selector"}, "A selector is letters"),
    ],
)
def test_bad_dkim_input_is_a_400(api_for, given, words):
    response = api_for("owner").post(KEYS, given)
    assert response.status_code == 400
    assert words in response.json()["error"]["fields"]["non_field_errors"][0]["message"]


def test_a_selector_in_use_is_refused(personas, api_for):
    owner = api_for("owner")
    assert owner.post(KEYS, {"domain": "acme.example"}).status_code == 201
    again = owner.post(KEYS, {"domain": "acme.example"})
    assert again.status_code == 400
    assert DkimKey.objects.count() == 1


@pytest.mark.parametrize("role", ["viewer", "editor"])
def test_only_owners_make_and_delete_keys(personas, api_for, role):
    key = DkimKey.objects.create(
        workspace=personas.workspace, domain="acme.example", public_key="AAAA"
    )
    client = api_for(role)
    assert client.get(KEYS).json()["count"] == 1
    assert client.post(KEYS, {"domain": "other.example"}).status_code == 403
    assert client.delete(f"{KEYS}{key.pk}/").status_code == 403
    assert DkimKey.objects.count() == 1


@pytest.fixture
def capture(personas) -> SendingAccount:
    SendingAccount.objects.filter(workspace=personas.workspace).delete()
    workspace_initialize(workspace=personas.workspace)
    return SendingAccount.objects.get(workspace=personas.workspace, kind=AccountKind.CAPTURE)


def test_what_a_capture_account_sent_can_be_read_and_downloaded(personas, api_for, capture):
    editor = api_for("editor")
    sent = editor.post(
        f"/api/email-accounts/{capture.pk}/test-connection/", {"send_to": "me@example.test"}
    )
    assert sent.json()["success"] is True
    page = editor.get(CAPTURED).json()
    [row] = page["results"]
    assert row["recipients"] == ["me@example.test"]
    assert row["account_id"] == capture.pk
    assert row["subject"] == "Postroom test message"
    detail = editor.get(f"{CAPTURED}{row['id']}/").json()
    assert "This is a test of the sending account Local capture" in detail["text"]
    assert detail["html"] is None
    assert {"name": "To", "value": "me@example.test"} in detail["headers"]
    raw = editor.get(f"{CAPTURED}{row['id']}/raw/")
    assert raw.status_code == 200
    assert raw["Content-Type"] == "message/rfc822"
    assert raw["Content-Disposition"] == f'attachment; filename="captured-{row["id"]}.eml"'
    stored = bytes(CapturedMessage.objects.get(pk=row["id"]).raw)
    assert raw.content == stored
    assert detail["size"] == len(stored)
    eml = editor.get(f"{CAPTURED}{row['id']}/raw/", HTTP_ACCEPT="message/rfc822")
    assert eml.content == stored


def test_captured_messages_filter_by_recipient_account_and_message_id(personas, api_for):
    account = SendingAccountFactory.create(workspace=personas.workspace, kind=AccountKind.CAPTURE)
    mine = CapturedMessageFactory.create(
        workspace=personas.workspace,
        account=account,
        recipients=["ada@example.test"],
        message_id="<one@acme.example>",
    )
    CapturedMessageFactory.create(workspace=personas.workspace, recipients=["bada@example.test"])
    CapturedMessageFactory.create(
        workspace=personas.other_workspace, recipients=["ada@example.test"]
    )
    client = api_for("viewer")

    def ids(**params: object) -> list[int]:
        return [r["id"] for r in client.get(CAPTURED, params).json()["results"]]

    assert ids(recipient="ADA@example.test") == [mine.pk]  # whole addresses, any case
    assert ids(account_id=account.pk) == [mine.pk]
    assert ids(message_id="<one@acme.example>") == [mine.pk]
    assert len(ids()) == 2
    bad = client.get(CAPTURED, {"account_id": "x"})
    assert bad.status_code == 400
    assert "account_id" in bad.json()["error"]["fields"]


def test_captured_messages_of_another_workspace_are_404(personas, api_for):
    theirs = CapturedMessageFactory.create(workspace=personas.other_workspace)
    client = api_for("owner")
    assert client.get(f"{CAPTURED}{theirs.pk}/").status_code == 404
    assert client.get(f"{CAPTURED}{theirs.pk}/raw/").status_code == 404
    assert client.get(CAPTURED).json()["results"] == []


def test_a_template_test_goes_to_each_address_as_its_recipient(personas, api_for, capture):
    template = TemplateFactory.create(
        workspace=personas.workspace,
        subject="Hello {first_name|there}",
        text_body="Hi {first_name}",
        html_body="",
    )
    Recipient.objects.create(
        workspace=personas.workspace, email="ada@example.test", first_name="Ada"
    )
    response = api_for("editor").post(
        f"/api/templates/{template.pk}/test-send/",
        {"account_id": capture.pk, "addresses": ["ada@example.test", "new@example.test"]},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["results"] == [
        {"address": "ada@example.test", "ok": True, "message": "sent", "as_recipient": True},
        {"address": "new@example.test", "ok": True, "message": "sent", "as_recipient": False},
    ]
    captured = CapturedMessage.objects.filter(workspace=personas.workspace)
    subjects = {c.recipients[0]: c.subject for c in captured}
    assert subjects == {"ada@example.test": "Hello Ada", "new@example.test": "Hello Alex"}


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({"addresses": ["a@example.test"]}, "account_id"),
        ({"account_id": 0, "addresses": ["a@example.test"]}, "account_id"),
        ({"account_id": "CAPTURE", "addresses": ["nobody"]}, "addresses"),
        (
            {"account_id": "CAPTURE", "addresses": [f"p{i}@example.test" for i in range(11)]},
            "addresses",
        ),
        ({"account_id": "INACTIVE", "addresses": ["a@example.test"]}, "account_id"),
    ],
)
def test_a_bad_test_send_is_a_400_and_sends_nothing(personas, api_for, capture, given, field):
    inactive = SendingAccountFactory.create(
        workspace=personas.workspace, status=AccountStatus.INACTIVE
    )
    named = {"CAPTURE": capture.pk, "INACTIVE": inactive.pk}
    data = {**given}
    if data.get("account_id") in named:
        data["account_id"] = named[data["account_id"]]
    template = TemplateFactory.create(workspace=personas.workspace)
    response = api_for("editor").post(
        f"/api/templates/{template.pk}/test-send/", data, format="json"
    )
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not CapturedMessage.objects.exists()


def test_viewers_cannot_send_tests_and_other_templates_are_404(personas, api_for, capture):
    mine = TemplateFactory.create(workspace=personas.workspace)
    theirs = TemplateFactory.create(workspace=personas.other_workspace)
    data = {"account_id": capture.pk, "addresses": ["a@example.test"]}
    assert (
        api_for("viewer")
        .post(f"/api/templates/{mine.pk}/test-send/", data, format="json")
        .status_code
        == 403
    )
    assert (
        api_for("owner")
        .post(f"/api/templates/{theirs.pk}/test-send/", data, format="json")
        .status_code
        == 404
    )
    assert not CapturedMessage.objects.exists()
