import re

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from accounts import services as account_services
from accounts.keys.models import ApiKey
from accounts.keys.services import api_key_create, key_hash
from accounts.models import Membership, Role

pytestmark = pytest.mark.django_db


def test_an_owner_creates_a_key_that_is_shown_once(personas, owner_client):
    response = owner_client.post(reverse("api_keys"), {"name": "CRM sync", "role": "editor"})
    assert response.status_code == 200
    shown = re.search(r'id="new-api-key">(pr_[^<]+)<', response.content.decode())
    assert shown
    raw = shown.group(1)
    key = ApiKey.objects.get()
    assert key.key_hash == key_hash(raw)
    assert raw not in str(key.__dict__)  # only the hash and a short prefix are stored
    assert raw not in owner_client.get(reverse("api_keys")).content.decode()

    me = APIClient(HTTP_AUTHORIZATION=f"Bearer {raw}").get("/api/me/")
    assert me.json()["workspace"]["name"] == "Acme"


def test_a_revoked_key_stops_working(personas, owner_client):
    owner_client.post(reverse("api_keys"), {"name": "CRM", "role": "viewer"})
    key = ApiKey.objects.get()
    url = reverse("api_key_revoke", kwargs={"api_key_id": key.pk})
    owner_client.post(url, {"confirmed": "yes"})
    key.refresh_from_db()
    assert key.revoked_at is not None


@pytest.mark.parametrize("persona", ["editor", "viewer"])
def test_only_owners_see_and_make_keys(personas, persona, client):
    client.force_login(getattr(personas, persona))
    assert client.get(reverse("api_keys")).status_code == 403
    assert client.post(reverse("api_keys"), {"name": "x", "role": "owner"}).status_code == 403
    assert not ApiKey.objects.exists()


def test_the_list_says_when_a_key_acts_with_less_or_has_stopped(personas, owner_client):
    second = Membership.objects.create(
        workspace=personas.workspace, user=personas.outsider, role=Role.OWNER
    )
    api_key_create(
        workspace=personas.workspace, name="Demoted", role=Role.OWNER, created_by=personas.outsider
    )
    api_key_create(
        workspace=personas.workspace, name="Departed", role=Role.EDITOR, created_by=personas.editor
    )
    account_services.membership_change_role(membership=second, role=Role.VIEWER)
    account_services.membership_remove(
        membership=personas.editor.memberships.get(workspace=personas.workspace)
    )
    page = owner_client.get(reverse("api_keys")).content.decode()
    assert "acts as viewer: its creator's role now" in page
    assert "does not work: its creator is no longer a member" in page
