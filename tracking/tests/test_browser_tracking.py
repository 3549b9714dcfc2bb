"""Real Chromium: a reader clicks a tracked link in a message taken from a real SMTP sink and
lands on the link's page; the click is in the database."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from campaigns.engine.step import Engine
from campaigns.models import Campaign
from campaigns.services import campaign_start
from campaigns.tests.conftest import make_campaign
from content.models import Template
from tracking.models import Event, EventKind

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_click_in_a_captured_message_lands_on_the_links_page(
    page: Page, live_server, smtp_sink, personas, settings
):
    settings.SITE_URL = live_server.url
    settings.SENDING_ALLOW_PRIVATE_HOSTS = True
    workspace = personas.workspace
    workspace.track_clicks = True
    workspace.save()
    setup = make_campaign(workspace, smtp_sink, emails=["ann@example.test"])
    target = f"{live_server.url}/accounts/login/?from=newsletter"
    Template.objects.filter(pk=setup.campaign.template_id or 0).update(
        html_body=f'<p>Hello {{first_name}}</p><p><a href="{target}">Sign in to read</a></p>'
    )
    Campaign.objects.filter(pk=setup.campaign.pk).update(utm_source="letter")
    campaign_start(campaign=setup.campaign)
    Engine().step()
    [message] = smtp_sink.wait_for(1)
    assert target not in message.html  # rewritten: the reader's click goes through Postroom

    page.set_content(message.html)
    page.get_by_role("link", name="Sign in to read").click()

    expect(page).to_have_url(f"{target}&utm_source=letter")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    click = Event.objects.get()
    assert (click.kind, click.link_index, click.url) == (
        EventKind.CLICKED,
        0,
        f"{target}&utm_source=letter",
    )
    # Headless Chromium says so in its user agent: a program, counted apart from people.
    assert click.machine is True
