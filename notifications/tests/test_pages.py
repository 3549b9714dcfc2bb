"""The bell, the list (mark one or all read) and the e-mail choices, through HTTP; the API."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from accounts.tests.factories import MembershipFactory, WorkspaceFactory
from conftest import api_key_client, client_for
from notifications.collect import Fact, tell
from notifications.kinds import Kind
from notifications.models import EmailChoice, Notification

pytestmark = pytest.mark.django_db

PLANTED = '<img src=x onerror=alert(1) hx-get="/x">Spring'


def told(workspace, name: str = "Spring", key: str = "k1", kind: str = Kind.CAMPAIGN_PAUSED):
    fact = Fact(workspace.pk, kind, key, name, None, "Paused: 30 bounces", timezone.now())
    tell([fact], now=timezone.now())


def bell_count(client) -> str | None:
    page: str = client.get("/").content.decode()
    marker = 'data-unread-count="'
    if marker not in page:
        return None
    return page.split(marker, 1)[1].split('"', 1)[0]


def test_the_bell_counts_the_unread_of_this_workspace_only(personas):
    told(personas.workspace, key="a")
    told(personas.workspace, key="b")
    told(personas.other_workspace, key="c")
    owner, outsider = client_for(personas.owner), client_for(personas.outsider)
    assert bell_count(owner) == "2"
    assert bell_count(outsider) == "1"  # Globex's own, none of Acme's
    mine = Notification.objects.filter(user=personas.owner).order_by("pk")[0]
    owner.post(reverse("notifications:read", kwargs={"notification_id": mine.pk}))
    assert bell_count(owner) == "1"
    owner.post(reverse("notifications:read_all"))
    assert bell_count(owner) is None
    assert bell_count(client_for(personas.viewer)) == "2"  # read state is each person's own


def test_a_viewer_marks_their_own_read(personas):
    told(personas.workspace)
    viewer = client_for(personas.viewer)
    mine = Notification.objects.get(user=personas.viewer)
    response = viewer.post(reverse("notifications:read", kwargs={"notification_id": mine.pk}))
    assert response.status_code == 302
    mine.refresh_from_db()
    assert mine.read_at is not None
    assert Notification.objects.get(user=personas.owner).read_at is None


def test_anothers_notification_in_the_same_workspace_answers_404(personas):
    told(personas.workspace)
    owners = Notification.objects.get(user=personas.owner)
    url = reverse("notifications:read", kwargs={"notification_id": owners.pk})
    assert client_for(personas.editor).post(url).status_code == 404
    api = client_for(personas.editor)
    assert api.get(f"/api/notifications/{owners.pk}/").status_code == 404
    owners.refresh_from_db()
    assert owners.read_at is None


def test_markup_in_a_campaign_name_is_shown_as_text(personas):
    told(personas.workspace, name=PLANTED)
    page = client_for(personas.owner).get(reverse("notifications:index")).content.decode()
    assert "&lt;img src=x onerror=alert(1) hx-get=&quot;/x&quot;&gt;Spring" in page
    assert "<img src=x" not in page
    assert 'hx-get="/x"' not in page


def test_the_list_speaks_russian_to_a_russian_reader(personas):
    personas.owner.language = "ru"
    personas.owner.save(update_fields=["language"])
    told(personas.workspace)
    client = client_for(personas.owner)
    client.cookies["django_language"] = "ru"
    page = client.get(reverse("notifications:index")).content.decode()
    assert "Кампания «Spring» приостановлена." in page
    assert "Отметить все прочитанными" in page
    assert "was paused" not in page


def test_the_email_choices_are_saved_per_kind(personas):
    client = client_for(personas.viewer)
    url = reverse("notifications:email_settings")
    page = client.get(url).content.decode()
    assert 'value="campaign_paused" checked' in page
    assert 'value="campaign_finished" checked' not in page
    client.post(url, {"email": ["campaign_finished"]})
    chosen = dict(EmailChoice.objects.filter(user=personas.viewer).values_list("kind", "by_email"))
    assert chosen[Kind.CAMPAIGN_FINISHED] is True
    assert chosen[Kind.CAMPAIGN_PAUSED] is False
    told(personas.workspace, kind=Kind.CAMPAIGN_PAUSED)
    assert Notification.objects.get(user=personas.viewer).email_after is None
    assert Notification.objects.get(user=personas.owner).email_after is not None


def test_the_profile_links_to_the_email_choices(personas):
    page = client_for(personas.owner).get(reverse("accounts:profile")).content.decode()
    assert reverse("notifications:email_settings") in page


def test_the_api_lists_and_marks_read(personas):
    told(personas.workspace, key="a")
    told(personas.workspace, key="b", kind=Kind.CAMPAIGN_FINISHED)
    api = client_for(personas.viewer)
    body = api.get("/api/notifications/").json()
    assert body["count"] == 2
    first = body["results"][0]
    assert first["kind"] == "campaign_finished"  # newest first (same time: higher id first)
    assert first["text"] == "Campaign “Spring” finished."
    assert first["read"] is False
    marked = api.post(f"/api/notifications/{first['id']}/read/").json()
    assert marked["read"] is True
    assert api.get("/api/notifications/?unread=true").json()["count"] == 1
    assert api.post("/api/notifications/read-all/").json() == {"marked": 1}
    assert api.get("/api/notifications/?unread=true").json()["count"] == 0


def test_the_api_of_another_workspace_sees_none(personas):
    told(personas.workspace)
    body = client_for(personas.outsider).get("/api/notifications/").json()
    assert body["count"] == 0


def test_an_api_key_has_no_notifications(personas):
    told(personas.workspace)
    api = api_key_client(personas.workspace, Role.OWNER, created_by=personas.owner)
    assert api.get("/api/notifications/").json()["count"] == 0


def test_a_second_workspace_of_the_same_user_keeps_its_own(personas):
    second = WorkspaceFactory.create(name="Second")
    MembershipFactory.create(workspace=second, user=personas.owner, role=Role.VIEWER)
    told(second, key="s")
    assert bell_count(client_for(personas.owner)) is None  # current workspace: Acme
