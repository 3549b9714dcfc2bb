"""Managing sign-up forms: the pages (list, create, edit, delete with confirmation) and the API
(CRUD, and the public subscribe and confirm endpoints with their own throttle)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from audience.tests.factories import RecipientListFactory
from subscriptions.confirmations import confirmations_send_due
from subscriptions.models import PendingSignup, SignupForm
from subscriptions.tests.factories import SignupFormFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def newsletter(personas):
    return RecipientListFactory.create(workspace=personas.workspace, name="Newsletter")


def form_data(newsletter, **overrides):
    return {
        "name": "Footer",
        "title": "Stay in touch",
        "lists": [newsletter.pk],
        "asked": ["first_name"],
        "confirm_subject": "Confirm, {first_name}",
        "confirm_text": "Click {confirm_url}",
        **overrides,
    }


def test_an_editor_creates_edits_and_deletes_a_form(editor_client, newsletter, personas):
    made = editor_client.post(reverse("subscriptions:create"), form_data(newsletter))
    form = SignupForm.objects.get(workspace=personas.workspace)
    assert made.status_code == 302
    assert form.fields == ["first_name"]
    page = editor_client.get(reverse("subscriptions:detail", kwargs={"form_id": form.pk}))
    body = page.content.decode()
    assert f"/s/{form.public_key}/" in body
    assert "&lt;form action=" in body  # the embed code, shown as text
    editor_client.post(
        reverse("subscriptions:detail", kwargs={"form_id": form.pk}),
        form_data(newsletter, name="Sidebar", asked=[]),
    )
    form.refresh_from_db()
    assert (form.name, form.fields) == ("Sidebar", [])
    url = reverse("subscriptions:delete", kwargs={"form_id": form.pk})
    asked = editor_client.post(url)
    assert "stop working" in asked.content.decode()
    assert SignupForm.objects.filter(pk=form.pk).exists()  # only asked so far
    editor_client.post(url, {"confirmed": "yes"})
    assert not SignupForm.objects.filter(pk=form.pk).exists()


def test_a_confirmation_without_its_link_is_refused(editor_client, newsletter):
    response = editor_client.post(
        reverse("subscriptions:create"), form_data(newsletter, confirm_text="Hello")
    )
    assert response.status_code == 400
    assert "{confirm_url}" in response.content.decode()
    assert not SignupForm.objects.exists()


def test_a_viewer_sees_forms_but_cannot_create_one(viewer_client, newsletter, personas):
    SignupFormFactory.create(workspace=personas.workspace, lists=[newsletter], name="Footer")
    assert "Footer" in viewer_client.get(reverse("subscriptions:index")).content.decode()
    assert (
        viewer_client.post(reverse("subscriptions:create"), form_data(newsletter)).status_code
        == 403
    )


def test_another_workspaces_form_answers_404(owner_client, personas):
    foreign_list = RecipientListFactory.create(workspace=personas.other_workspace, name="X")
    foreign = SignupFormFactory.create(workspace=personas.other_workspace, lists=[foreign_list])
    for name in ("subscriptions:detail", "subscriptions:delete"):
        url = reverse(name, kwargs={"form_id": foreign.pk})
        assert owner_client.get(url).status_code in (404, 405)
        assert owner_client.post(url, {"confirmed": "yes"}).status_code == 404
    assert SignupForm.objects.filter(pk=foreign.pk).exists()


def test_a_form_cannot_take_another_workspaces_list(api_for, personas):
    foreign_list = RecipientListFactory.create(workspace=personas.other_workspace, name="X")
    response = api_for("editor").post(
        "/api/signup-forms/", {"name": "F", "list_ids": [foreign_list.pk]}, format="json"
    )
    assert response.status_code == 400
    assert "list_ids" in str(response.json())


def test_the_api_manages_forms(api_for, newsletter):
    api = api_for("editor")
    made = api.post(
        "/api/signup-forms/",
        {"name": "API form", "list_ids": [newsletter.pk], "fields_asked": ["city"]},
        format="json",
    )
    assert made.status_code == 201, made.json()
    form_id = made.json()["id"]
    assert made.json()["fields_asked"] == ["city"]
    changed = api.put(
        f"/api/signup-forms/{form_id}/",
        {"name": "Renamed", "list_ids": [newsletter.pk]},
        format="json",
    )
    assert changed.json()["name"] == "Renamed"
    assert [f["name"] for f in api.get("/api/signup-forms/").json()["results"]] == ["Renamed"]
    assert api.delete(f"/api/signup-forms/{form_id}/").status_code == 204


def test_the_public_api_subscribes_and_confirms(personas, newsletter, smtp_sink):
    from sending.tests.factories import SendingAccountFactory

    account = SendingAccountFactory.create(
        workspace=personas.workspace, smtp_host=smtp_sink.host, smtp_port=smtp_sink.port
    )
    form = SignupFormFactory.create(
        workspace=personas.workspace, lists=[newsletter], sending_account=account
    )
    api = APIClient()
    url = f"/api/signup-forms/public/{form.public_key}/subscribe/"
    answer = api.post(url, {"email": "ann@example.com"}, format="json")
    assert answer.status_code == 202
    confirmations_send_due(now=timezone.now())
    [message] = smtp_sink.messages
    token = re.search(r"/s/confirm/(\S+)/", message.text or "").group(1)  # type: ignore[union-attr]
    done = api.post("/api/signup-forms/confirm/", {"token": token}, format="json")
    assert done.json()["status"] == "confirmed"
    assert newsletter.recipients.get().email == "ann@example.com"
    again = api.post("/api/signup-forms/confirm/", {"token": token}, format="json")
    assert again.json()["status"] == "already"
    forged = api.post("/api/signup-forms/confirm/", {"token": token + "x"}, format="json")
    assert forged.status_code == 400
    assert forged.json()["status"] == "invalid"


def test_the_public_api_has_its_own_throttle(personas, newsletter, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "signup": "5/min",
            "signup_confirm": "3/min",
        },
    }
    form = SignupFormFactory.create(workspace=personas.workspace, lists=[newsletter])
    api = APIClient()
    url = f"/api/signup-forms/public/{form.public_key}/subscribe/"
    statuses = [
        api.post(url, {"email": f"p{n}@example.com"}, format="json").status_code for n in range(8)
    ]
    assert statuses == [202] * 5 + [429] * 3
    assert PendingSignup.objects.count() == 5
    confirms = [
        api.post("/api/signup-forms/confirm/", {"token": "x"}, format="json").status_code
        for _ in range(4)
    ]
    assert confirms == [400, 400, 400, 429]


def test_the_public_api_honeypot_answers_the_same(personas, newsletter):
    form = SignupFormFactory.create(workspace=personas.workspace, lists=[newsletter])
    url = f"/api/signup-forms/public/{form.public_key}/subscribe/"
    answer = APIClient().post(url, {"email": "bot@example.com", "website": "x"}, format="json")
    assert answer.status_code == 202
    assert not PendingSignup.objects.exists()


def test_a_list_is_made_single_opt_in_on_its_page(editor_client, newsletter):
    url = reverse("audience:list_detail", kwargs={"list_id": newsletter.pk})
    editor_client.post(url, {"name": "Newsletter", "single_opt_in": "on"})
    newsletter.refresh_from_db()
    assert newsletter.single_opt_in


def test_the_owner_sets_the_sign_up_pages_colour(owner_client, personas):
    data = {"name": "Acme", "time_zone": "UTC", "signup_color": "#AA3300"}
    owner_client.post(reverse("accounts:workspace_update"), data)
    personas.workspace.refresh_from_db()
    assert personas.workspace.signup_color == "#aa3300"
    bad = owner_client.post(reverse("accounts:workspace_update"), {**data, "signup_color": "red;}"})
    assert bad.status_code == 400
