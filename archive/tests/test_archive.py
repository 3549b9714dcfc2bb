"""The public archive: which campaigns it shows, that it shows nobody's data and no tracking,
its feed, and that a key opens one workspace's archive and nothing else."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import Workspace
from accounts.services import workspace_archive_key_rotate, workspace_update
from audience.models import RecipientList
from campaigns.models import Campaign, CampaignStatus
from campaigns.services import campaign_start
from campaigns.tests.conftest import make_campaign
from campaigns.tests.factories import CampaignFactory
from campaigns.tracked_links import PIXEL
from content.models import Template

pytestmark = pytest.mark.django_db

# No message is sent here: the campaigns are only started (frozen and launched).
NO_SINK = SimpleNamespace(host="127.0.0.1", port=9)
HTML = (
    "<html><body><p>Dear {first_name} of {company}</p>"
    '<p><a href="https://shop.example/sale?x=1&amp;y=2">Sale</a></p>'
    '<p><a href="{unsubscribe_url}">Unsubscribe</a> <a href="{view_in_browser_url}">View</a>'
    ' <a href="{preferences_url}">Preferences</a></p></body></html>'
)
TEXT = "Dear {first_name}\nSale: https://shop.example/sale?x=1&y=2\nStop: {unsubscribe_url}\n"


def open_archive(workspace: Workspace) -> str:
    workspace_update(
        workspace=workspace,
        name=workspace.name,
        time_zone=workspace.time_zone,
        hourly_limit=workspace.hourly_limit,
        archive_enabled=True,
    )
    workspace.refresh_from_db()
    assert workspace.archive_key
    return workspace.archive_key


def sent_campaign(workspace: Workspace, *, archived: bool = True, name: str = "Spring", **fields):
    """A campaign started with tracking on (pixel and rewritten links in its frozen content)."""
    workspace.track_opens = workspace.track_clicks = True
    workspace.save()
    setup = make_campaign(workspace, NO_SINK, emails=[f"ann.{name.lower()}@example.test"])
    RecipientList.objects.filter(workspace=workspace, name="Everyone").update(name=name)
    Template.objects.filter(pk=setup.campaign.template_id or 0).update(
        name=name, subject="News for {first_name}", html_body=HTML, text_body=TEXT
    )
    Campaign.objects.filter(pk=setup.campaign.pk).update(name=name, archived=archived, **fields)
    campaign_start(campaign=setup.campaign)
    setup.campaign.refresh_from_db()
    assert setup.campaign.status == CampaignStatus.RUNNING
    return setup.campaign


def test_an_archived_sent_campaign_is_listed_and_shown_without_anyones_data(personas):
    key = open_archive(personas.workspace)
    campaign = sent_campaign(personas.workspace)
    listed = Client().get(f"/archive/{key}/")
    assert listed.status_code == 200
    page = listed.content.decode()
    assert f"/archive/{key}/{campaign.pk}/" in page
    assert "News for Alex" in page  # the subject with the sample value
    assert "Name0" not in page
    shown = Client().get(f"/archive/{key}/{campaign.pk}/")
    assert shown.status_code == 200
    html = shown.content.decode()
    assert "Dear Alex of Sample &amp; Co" in html  # sample values, never the recipient's
    for personal in ("Name0", "ann.spring@example.test", "Acme"):
        assert personal not in html
    assert shown["Content-Security-Policy"].endswith("sandbox")
    assert "script-src" not in shown["Content-Security-Policy"]


def test_the_archive_values_replace_the_sample_values(personas, api_for):
    key = open_archive(personas.workspace)
    campaign = sent_campaign(personas.workspace)
    answer = api_for("editor").patch(
        f"/api/campaigns/{campaign.pk}/",
        {"archive_values": {"first_name": "Reader", "company": "our readers"}},
        format="json",
    )
    assert answer.status_code == 200, answer.content
    html = Client().get(f"/archive/{key}/{campaign.pk}/").content.decode()
    assert "Dear Reader of our readers" in html
    assert "News for Reader" in Client().get(f"/archive/{key}/").content.decode()


def test_no_pixel_no_tracked_link_and_no_unsubscribe_link(personas):
    key = open_archive(personas.workspace)
    campaign = sent_campaign(personas.workspace)
    assert PIXEL in campaign.content["html"]  # tracking was on when it was frozen
    assert "{_click}" in campaign.content["html"]
    html = Client().get(f"/archive/{key}/{campaign.pk}/").content.decode()
    assert "<img" not in html
    assert "/o/" not in html
    assert "/c/" not in html
    assert 'href="https://shop.example/sale?x=1&amp;y=2"' in html  # the original link
    assert 'href="#">Unsubscribe' in html
    assert 'href="#">View' in html
    assert 'href="#">Preferences' in html
    assert "/p/" not in html
    assert "/u/" not in html
    assert "/v/" not in html


def test_drafts_unarchived_and_single_campaigns_are_not_shown(personas):
    key = open_archive(personas.workspace)
    hidden = sent_campaign(personas.workspace, archived=False, name="Hidden")
    single = sent_campaign(personas.workspace, name="Single", is_single=True)
    draft = CampaignFactory.create(
        workspace=personas.workspace,
        name="Draft",
        archived=True,
        content={"subject": "Draft"},
        bare=True,
    )
    cancelled_before_start = CampaignFactory.create(
        bare=True,
        workspace=personas.workspace,
        name="Never",
        archived=True,
        status=CampaignStatus.CANCELLED,
        content={"subject": "Never"},
    )
    page = Client().get(f"/archive/{key}/").content.decode()
    assert 'id="archive-empty"' in page
    for campaign in (hidden, single, draft, cancelled_before_start):
        assert Client().get(f"/archive/{key}/{campaign.pk}/").status_code == 404


def test_the_list_is_newest_first_and_paginated(personas):
    key = open_archive(personas.workspace)
    first = sent_campaign(personas.workspace, name="First")
    second = sent_campaign(personas.workspace, name="Second")
    Campaign.objects.filter(pk=first.pk).update(launched_at=timezone.now() - timedelta(days=2))
    page = Client().get(f"/archive/{key}/").content.decode()
    assert page.index(f"/{second.pk}/") < page.index(f"/{first.pk}/")
    from archive import views

    views_size, views.PAGE_SIZE = views.PAGE_SIZE, 1
    try:
        one = Client().get(f"/archive/{key}/").content.decode()
        two = Client().get(f"/archive/{key}/?page=2").content.decode()
    finally:
        views.PAGE_SIZE = views_size
    assert f"/{second.pk}/" in one
    assert f"/{first.pk}/" not in one
    assert f"/{first.pk}/" in two
    assert f"/{second.pk}/" not in two
    assert 'rel="next"' in one


def test_the_feed_lists_the_archived_campaigns(personas):
    key = open_archive(personas.workspace)
    campaign = sent_campaign(personas.workspace)
    sent_campaign(personas.workspace, archived=False, name="Hidden")
    answer = Client().get(f"/archive/{key}/feed/")
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("application/rss+xml")
    channel = ET.fromstring(answer.content).find("channel")  # noqa: S314 - our own feed
    assert channel is not None
    items = channel.findall("item")
    assert len(items) == 1
    assert items[0].findtext("title") == "News for Alex"
    assert items[0].findtext("link", "").endswith(f"/archive/{key}/{campaign.pk}/")
    assert items[0].findtext("pubDate")
    assert b"Name0" not in answer.content
    assert "public" in answer["Cache-Control"]
    page = Client().get(f"/archive/{key}/").content.decode()
    assert 'type="application/rss+xml"' in page
    assert f'href="/archive/{key}/feed/"' in page


def test_pages_are_cacheable_and_say_their_language(personas):
    key = open_archive(personas.workspace)
    campaign = sent_campaign(personas.workspace)
    listed = Client(HTTP_ACCEPT_LANGUAGE="ru").get(f"/archive/{key}/")
    assert '<html lang="ru">' in listed.content.decode()
    english = Client(HTTP_ACCEPT_LANGUAGE="en").get(f"/archive/{key}/")
    assert '<html lang="en">' in english.content.decode()
    for response in (listed, Client().get(f"/archive/{key}/{campaign.pk}/")):
        assert "public" in response["Cache-Control"]
        assert "max-age=300" in response["Cache-Control"]
        assert "Set-Cookie" not in response


def test_a_wrong_key_or_an_archive_switched_off_is_not_found(personas):
    key = open_archive(personas.workspace)
    campaign = sent_campaign(personas.workspace)
    assert Client().get(f"/archive/{key}x/").status_code == 404
    assert Client().get(f"/archive/{key}x/{campaign.pk}/").status_code == 404
    assert Client().get(f"/archive/{key}x/feed/").status_code == 404
    workspace = personas.workspace
    workspace_update(
        workspace=workspace, name=workspace.name, time_zone="UTC", archive_enabled=False
    )
    for path in ("", f"{campaign.pk}/", "feed/"):
        assert Client().get(f"/archive/{key}/{path}").status_code == 404


def test_a_new_key_ends_the_old_address(personas):
    key = open_archive(personas.workspace)
    campaign = sent_campaign(personas.workspace)
    new = workspace_archive_key_rotate(workspace=personas.workspace).archive_key
    assert new
    assert new != key
    assert Client().get(f"/archive/{key}/{campaign.pk}/").status_code == 404
    assert Client().get(f"/archive/{new}/{campaign.pk}/").status_code == 200


def test_another_workspaces_campaign_is_not_found_under_this_key(personas):
    key = open_archive(personas.workspace)
    open_archive(personas.other_workspace)
    theirs = sent_campaign(personas.other_workspace, name="Theirs")
    assert Client().get(f"/archive/{key}/{theirs.pk}/").status_code == 404
    assert f"/{theirs.pk}/" not in Client().get(f"/archive/{key}/").content.decode()


def test_the_archive_is_off_and_keyless_until_an_owner_turns_it_on(personas):
    workspace = Workspace.objects.get(pk=personas.workspace.pk)
    assert (workspace.archive_enabled, workspace.archive_key) == (False, None)
    campaign = sent_campaign(workspace)
    assert Client().get(f"/archive/None/{campaign.pk}/").status_code == 404
