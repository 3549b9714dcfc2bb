import re

import pytest
from django.urls import reverse

from accounts.middleware import SESSION_KEY
from accounts.models import Invitation, Membership, Role
from accounts.tests.factories import MembershipFactory, UserFactory, WorkspaceFactory
from conftest import client_for

pytestmark = pytest.mark.django_db


def invitation_link(smtp_sink) -> str:
    [message] = smtp_sink.wait_for(1)
    match = re.search(r"https?://\S+/accounts/invitations/\S+/", message.text)
    assert match, message.text
    return match.group(0)


def test_owner_invites_by_email_and_the_invitee_joins_with_the_role(
    personas, owner_client, smtp_sink
):
    invitee = UserFactory.create(email="new@example.test")
    response = owner_client.post(
        reverse("accounts:invite"), {"email": "New@Example.test", "role": Role.EDITOR}
    )
    assert response.status_code == 302
    link = invitation_link(smtp_sink)
    assert smtp_sink.messages[0].rcpt_tos == ["new@example.test"]
    assert "Acme" in smtp_sink.messages[0].subject

    client = client_for(invitee)
    assert "Join “Acme”" in client.get(link).content.decode()
    assert client.post(link).status_code == 302

    membership = Membership.objects.get(user=invitee, workspace=personas.workspace)
    assert membership.role == Role.EDITOR
    assert client.session[SESSION_KEY] == personas.workspace.pk
    assert client.post(link).status_code == 404  # used once


def test_an_invitation_link_does_nothing_for_another_address(personas, owner_client, smtp_sink):
    owner_client.post(reverse("accounts:invite"), {"email": "new@example.test", "role": "owner"})
    link = invitation_link(smtp_sink)
    intruder = client_for(UserFactory.create(email="intruder@example.test"))
    assert intruder.get(link).status_code == 404
    assert intruder.post(link).status_code == 404
    assert (
        not Membership.objects.filter(workspace=personas.workspace, role="owner")
        .exclude(user=personas.owner)
        .exists()
    )


def test_invitations_wait_on_the_workspaces_page_after_sign_up(personas, owner_client, smtp_sink):
    owner_client.post(reverse("accounts:invite"), {"email": "later@example.test", "role": "viewer"})
    later = UserFactory.create(email="later@example.test")
    client = client_for(later)
    page = client.get(reverse("accounts:workspaces")).content.decode()
    assert "Acme" in page
    invitation = Invitation.objects.get(email="later@example.test")
    response = client.post(
        reverse("accounts:my_invitation_respond", kwargs={"invitation_id": invitation.pk}),
        {"decision": "accept"},
    )
    assert response.status_code == 302
    assert Membership.objects.get(user=later, workspace=personas.workspace).role == Role.VIEWER


def test_inviting_a_member_again_is_refused(personas, owner_client, smtp_sink):
    response = owner_client.post(
        reverse("accounts:invite"), {"email": "editor@acme.test", "role": "viewer"}, follow=True
    )
    assert "already a member" in response.content.decode()
    assert smtp_sink.messages == []


def test_owner_changes_roles_and_removes_members(personas, owner_client):
    editor = Membership.objects.get(user=personas.editor)
    owner_client.post(
        reverse("accounts:member_role", kwargs={"membership_id": editor.pk}), {"role": "viewer"}
    )
    editor.refresh_from_db()
    assert editor.role == Role.VIEWER

    owner_client.post(
        reverse("accounts:member_remove", kwargs={"membership_id": editor.pk}), {"confirmed": "yes"}
    )
    assert not Membership.objects.filter(pk=editor.pk).exists()


def test_the_last_owner_cannot_step_down_or_leave(personas, owner_client):
    owner = Membership.objects.get(user=personas.owner)
    response = owner_client.post(
        reverse("accounts:member_role", kwargs={"membership_id": owner.pk}),
        {"role": "editor"},
        follow=True,
    )
    assert "at least one owner" in response.content.decode()
    owner_client.post(reverse("accounts:workspace_leave"), {"confirmed": "yes"})
    owner.refresh_from_db()
    assert owner.role == Role.OWNER


@pytest.mark.parametrize(
    ("route", "kwargs"),
    [
        ("accounts:invite", {}),
        ("accounts:workspace_update", {}),
        ("accounts:member_role", {"membership_id": "viewer"}),
        ("accounts:member_remove", {"membership_id": "viewer"}),
    ],
)
@pytest.mark.parametrize("persona", ["editor", "viewer"])
def test_only_owners_manage_the_workspace(personas, persona, route, kwargs, smtp_sink):
    target = Membership.objects.get(user=personas.viewer)
    kwargs = dict.fromkeys(kwargs, target.pk)
    client = client_for(getattr(personas, persona))
    data = {"email": "x@example.test", "role": "owner", "name": "Hacked", "time_zone": "UTC"}
    response = client.post(reverse(route, kwargs=kwargs), data)
    assert response.status_code == 403
    assert "does not allow" in response.content.decode()
    target.refresh_from_db()
    assert target.role == Role.VIEWER
    personas.workspace.refresh_from_db()
    assert personas.workspace.name == "Acme"
    assert smtp_sink.messages == []


def test_viewers_see_settings_but_no_forms_to_change_them(personas, viewer_client):
    page = viewer_client.get(reverse("accounts:settings")).content.decode()
    assert "editor@acme.test" in page
    assert reverse("accounts:invite") not in page
    assert reverse("accounts:workspace_update") not in page


def test_owner_renames_the_workspace_and_sets_its_time_zone(personas, owner_client):
    response = owner_client.post(
        reverse("accounts:workspace_update"),
        {"name": "Acme Ltd", "time_zone": "Europe/Berlin", "hourly_limit": "500"},
    )
    assert response.status_code == 302
    personas.workspace.refresh_from_db()
    assert personas.workspace.name == "Acme Ltd"
    assert personas.workspace.time_zone == "Europe/Berlin"
    assert personas.workspace.hourly_limit == 500


def test_a_bad_time_zone_is_refused(personas, owner_client):
    response = owner_client.post(
        reverse("accounts:workspace_update"), {"name": "Acme", "time_zone": "Mars/Olympus"}
    )
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()


def test_a_user_in_several_workspaces_switches_between_them(personas):
    second = WorkspaceFactory.create(name="Second")
    MembershipFactory.create(workspace=second, user=personas.editor, role=Role.VIEWER)
    client = client_for(personas.editor)
    assert "Acme" in client.get(reverse("dashboard")).content.decode()

    client.post(reverse("accounts:workspace_switch", kwargs={"workspace_id": second.pk}))

    page = client.get(reverse("dashboard")).content.decode()
    assert "Second" in page
    assert "Viewer" in page


def test_switching_to_a_workspace_one_is_not_in_answers_404(personas, editor_client):
    response = editor_client.post(
        reverse("accounts:workspace_switch", kwargs={"workspace_id": personas.other_workspace.pk})
    )
    assert response.status_code == 404
    assert editor_client.session.get(SESSION_KEY) != personas.other_workspace.pk


def test_a_user_creates_another_workspace_and_owns_it(personas, viewer_client):
    viewer_client.post(reverse("accounts:workspaces"), {"name": "Side project", "time_zone": "UTC"})
    membership = Membership.objects.get(user=personas.viewer, workspace__name="Side project")
    assert membership.role == Role.OWNER
    assert viewer_client.session[SESSION_KEY] == membership.workspace_id


def test_a_member_leaves(personas, editor_client):
    editor_client.post(reverse("accounts:workspace_leave"), {"confirmed": "yes"})
    assert not Membership.objects.filter(user=personas.editor).exists()
    assert editor_client.get(reverse("dashboard")).status_code == 302  # to the workspaces page


def test_an_owner_withdraws_an_invitation(personas, owner_client, smtp_sink):
    owner_client.post(reverse("accounts:invite"), {"email": "new@example.test", "role": "viewer"})
    invitation = Invitation.objects.get()
    owner_client.post(
        reverse("accounts:invitation_revoke", kwargs={"invitation_id": invitation.pk})
    )
    assert not Invitation.objects.exists()


def test_an_invitation_that_cannot_be_sent_is_not_kept(personas, owner_client, smtp_sink):
    smtp_sink.set_reply("new@example.test", "451 4.3.0 Try later")
    response = owner_client.post(
        reverse("accounts:invite"), {"email": "new@example.test", "role": "editor"}, follow=True
    )
    body = response.content.decode()
    assert "The invitation could not be sent" in body
    assert "451" in body
    assert not Invitation.objects.exists()


def test_a_new_workspace_starts_with_the_djangomailer_custom_fields(personas, viewer_client):
    from audience.models import CustomField

    viewer_client.post(reverse("accounts:workspaces"), {"name": "Fresh", "time_zone": "UTC"})
    keys = CustomField.objects.filter(workspace__name="Fresh").values_list("key", flat=True)
    assert list(keys) == ["free_field1", "free_field2", "free_field3"]


def test_a_viewer_leaves_too(personas, viewer_client):
    """Leaving changes only one's own membership: a viewer may, where other writes are refused."""
    response = viewer_client.post(
        reverse("accounts:workspace_leave"), {"confirmed": "yes"}, follow=True
    )
    assert response.status_code == 200
    assert "You left “Acme”." in response.content.decode()
    assert not Membership.objects.filter(user=personas.viewer).exists()
    assert Membership.objects.filter(workspace=personas.workspace).count() == 2  # owner, editor


def test_a_viewer_still_cannot_change_the_workspace(personas, viewer_client):
    refused = viewer_client.post(
        reverse("accounts:workspace_update"), {"name": "Renamed", "time_zone": "UTC"}
    )
    assert refused.status_code == 403
    personas.workspace.refresh_from_db()
    assert personas.workspace.name == "Acme"


def test_owner_turns_tracking_on_and_stops_keeping_addresses(personas, owner_client):
    client = owner_client
    response = client.post(
        "/settings/workspace/",
        {
            "name": "Acme",
            "time_zone": "UTC",
            "track_opens": "on",
            "track_clicks": "on",
            "reader_ips": "none",
        },
    )
    assert response.status_code == 302
    personas.workspace.refresh_from_db()
    assert personas.workspace.track_opens is True
    assert personas.workspace.track_clicks is True
    assert personas.workspace.reader_ips == "none"
    page = client.get("/settings/").content.decode()
    assert 'name="track_opens"' in page
