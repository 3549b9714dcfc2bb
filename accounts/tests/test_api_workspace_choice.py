"""Which workspace an API call acts in without X-Workspace: the user's current one, never the
first by name, so that joining or creating another workspace does not move a script."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import Role
from accounts.services import invitation_create, user_mark_verified, user_sign_up
from accounts.tests.factories import PASSWORD, MembershipFactory, WorkspaceFactory
from audience.models import RecipientList

pytestmark = pytest.mark.django_db


@pytest.fixture
def ada():
    user = user_sign_up(email="ada@example.test", password=PASSWORD, first_name="Ada")
    user_mark_verified(user=user)
    return user


def _api(email: str) -> APIClient:
    client = APIClient()
    access = client.post("/api/login/", {"email": email, "password": PASSWORD}, format="json")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access.json()['access']}")
    return client


def test_joining_another_workspace_does_not_move_the_api(ada):
    own = ada.memberships.get().workspace
    # Invited as a viewer elsewhere, into a workspace whose name sorts first.
    other = WorkspaceFactory.create(name="Aardvark Ltd")
    MembershipFactory.create(workspace=other, user=ada, role=Role.VIEWER)
    api = _api(ada.email)

    assert api.get("/api/me/").json()["workspace"]["id"] == own.pk
    made = api.post("/api/lists/", {"name": "API readers"}, format="json")
    assert made.status_code == 201, made.content
    assert RecipientList.objects.get(name="API readers").workspace_id == own.pk


def test_creating_a_workspace_does_not_move_the_api_and_switching_to_it_does(ada):
    own = ada.memberships.get().workspace
    browser = Client()
    browser.force_login(ada)
    api = _api(ada.email)
    assert api.get("/api/me/").json()["workspace"]["id"] == own.pk

    browser.post(reverse("accounts:workspaces"), {"name": "Acme", "time_zone": "UTC"})
    acme = ada.memberships.get(workspace__name="Acme").workspace
    assert browser.get(reverse("dashboard")).context["current_workspace"].pk == acme.pk
    # The README's walk-through goes on in the workspace it started in.
    assert api.get("/api/me/").json()["workspace"]["id"] == own.pk
    made = api.post("/api/lists/", {"name": "From the script"}, format="json")
    assert RecipientList.objects.get(pk=made.json()["id"]).workspace_id == own.pk

    browser.post(reverse("accounts:workspace_switch", kwargs={"workspace_id": acme.pk}))
    assert api.get("/api/me/").json()["workspace"]["id"] == acme.pk  # chosen: now current
    # The header still wins, and a new browser session starts where the user left off.
    chosen = api.get("/api/me/", HTTP_X_WORKSPACE=str(own.pk)).json()
    assert chosen["workspace"]["id"] == own.pk
    fresh = Client()
    fresh.force_login(ada)
    assert fresh.get(reverse("dashboard")).context["current_workspace"].pk == acme.pk


def test_accepting_an_invitation_does_not_move_the_api(ada):
    own = ada.memberships.get().workspace
    owner = MembershipFactory.create(role=Role.OWNER)
    link = invitation_create(
        workspace=owner.workspace,
        email=ada.email,
        role=Role.EDITOR,
        invited_by=owner.user,
        base_url="https://postroom.example.test",
    ).link
    browser = Client()
    browser.force_login(ada)
    api = _api(ada.email)
    accepted = browser.post(link.removeprefix("https://postroom.example.test"))
    assert accepted.status_code == 302
    assert ada.memberships.filter(workspace=owner.workspace).exists()
    assert browser.get(reverse("dashboard")).context["current_workspace"] == owner.workspace
    assert api.get("/api/me/").json()["workspace"]["id"] == own.pk


def test_leaving_the_current_workspace_falls_back_to_the_first_joined(ada):
    own = ada.memberships.get().workspace
    other = WorkspaceFactory.create(name="Aardvark Ltd")
    membership = MembershipFactory.create(workspace=other, user=ada, role=Role.EDITOR)
    browser = Client()
    browser.force_login(ada)
    browser.post(reverse("accounts:workspace_switch", kwargs={"workspace_id": other.pk}))
    api = _api(ada.email)
    assert api.get("/api/me/").json()["workspace"]["id"] == other.pk
    membership.delete()
    assert api.get("/api/me/").json()["workspace"]["id"] == own.pk
