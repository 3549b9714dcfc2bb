"""Viewers see no form they cannot submit: write forms are disabled or hidden for them, and
pages that exist only to create something answer 403."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from audience.models import CustomField
from campaigns.models import Campaign
from campaigns.tests.test_views_campaigns import form_data, make_world
from sending.models import SendingAccount

pytestmark = pytest.mark.django_db
POST_FORM = re.compile(r'<form\b[^>]*method="post"[^>]*>(.*?)</form>', re.S | re.I)
# A viewer may still leave the workspace and switch workspaces (sidebar, outside <main>).
ALLOWED_ACTIONS = ("/settings/leave/",)


def _submittable_forms(html: str) -> list[str]:
    main = html.split('id="main"', 1)[-1]
    found = []
    for match in POST_FORM.finditer(main):
        form, body = match.group(0), match.group(1)
        if any(f'action="{a}"' in form for a in ALLOWED_ACTIONS):
            continue
        disabled = re.search(r"<fieldset\b[^>]*\bdisabled\b", body)
        fields = re.findall(r"<(?:input|select|textarea)\b(?![^>]*type=\"hidden\")", body)
        if "<button" in body or (fields and not disabled):
            found.append(form[:160])
    return found


@pytest.fixture
def world(personas, owner_client):
    made = make_world(personas.workspace)
    owner_client.post(reverse("campaigns:create"), form_data(made))
    CustomField.objects.create(workspace=personas.workspace, key="plan", label="Plan")
    return made


def test_main_pages_show_viewers_no_form_to_submit(personas, world, viewer_client):
    campaign = Campaign.objects.get()
    account = SendingAccount.objects.filter(workspace=personas.workspace).order_by("pk")[0]
    pages = [
        reverse("dashboard"),
        reverse("audience:index"),
        reverse("audience:recipient_detail", kwargs={"recipient_id": world.people[0].pk}),
        reverse("audience:lists"),
        reverse("audience:list_detail", kwargs={"list_id": world.lists[0].pk}),
        reverse("audience:fields"),
        reverse("audience:suppression"),
        reverse("content:index"),
        reverse("content:edit", kwargs={"template_id": world.template.pk}),
        reverse("campaigns:index"),
        reverse("campaigns:detail", kwargs={"campaign_id": campaign.pk}),
        reverse("campaigns:emails"),
        reverse("sending:index"),
        reverse("sending:account_detail", kwargs={"account_id": account.pk}),
        reverse("accounts:settings"),
    ]
    offending = {}
    for url in pages:
        response = viewer_client.get(url)
        assert response.status_code == 200, url
        forms = _submittable_forms(response.content.decode())
        if forms:
            offending[url] = forms
    assert offending == {}


def test_a_record_page_tells_viewers_why_its_fields_are_greyed(world, viewer_client):
    url = reverse("audience:recipient_detail", kwargs={"recipient_id": world.people[0].pk})
    page = viewer_client.get(url).content.decode()
    assert "You are a viewer in this workspace" in page
    assert re.search(r"<fieldset\b[^>]*disabled", page)


@pytest.mark.parametrize("name", ["campaigns:create", "campaigns:email_create"])
def test_pages_that_only_create_answer_viewers_403(world, viewer_client, editor_client, name):
    assert viewer_client.get(reverse(name)).status_code == 403
    assert editor_client.get(reverse(name)).status_code == 200


def test_editors_keep_their_forms(world, editor_client):
    url = reverse("audience:recipient_detail", kwargs={"recipient_id": world.people[0].pk})
    page = editor_client.get(url).content.decode()
    assert "You are a viewer" not in page
    assert _submittable_forms(page)


# Pages about the user, not the workspace: every member, a viewer too, acts on them.
OWN_PAGES = {
    "accounts:profile",
    "accounts:password_change",
    "accounts:two_factor",
    "accounts:two_factor_setup",
    "accounts:workspaces",
    # A person's own notifications: marking them read, choosing which come by e-mail.
    "notifications:index",
    "notifications:email_settings",
    # Signed-out pages (a viewer who opens them asks for their own account).
    "accounts:password_reset",
    "accounts:resend_verification",
}


def test_every_page_shows_viewers_no_form_to_submit(personas, world, viewer_client):
    """The walker's every page (not the JSON API), filled with objects of the viewer's own
    workspace: each answers 403, or shows no form a viewer could submit."""
    from postroom.tests.test_tenancy import Foreign, all_routes, providers

    here = Foreign(workspace=personas.workspace, owner=personas.owner)
    available = providers()
    made: dict[str, object] = {}
    offending: dict[str, list[str]] = {}
    walked = 0
    for route in all_routes():
        if route.name.startswith(("api:", "admin:", "platform:")) or route.name in OWN_PAGES:
            continue
        for name in route.kwargs:
            if name not in made:
                made[name] = available[name](here)
        url = reverse(route.name, kwargs={name: made[name] for name in route.kwargs})
        response = viewer_client.get(url)
        if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
            continue
        walked += 1
        forms = _submittable_forms(response.content.decode())
        if forms:
            offending[url] = forms
    assert walked > 40  # a walk of nothing would pass
    assert not offending, "\n".join(sorted(offending))
