"""Real Chromium: a recipient opens the preference link of a message taken from the real SMTP
sink, with no cookie, unticks a list, saves, and sees (and the database holds) the change."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from audience.models import Recipient, RecipientList
from campaigns.engine.step import Engine
from campaigns.services import campaign_start
from campaigns.tests.conftest import make_campaign
from content.models import Template
from subscriptions.tests.factories import SignupFormFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_untick_a_list_from_a_captured_messages_link(
    page: Page, live_server, smtp_sink, personas, settings
):
    settings.SITE_URL = live_server.url
    settings.SENDING_ALLOW_PRIVATE_HOSTS = True
    workspace = personas.workspace
    setup = make_campaign(workspace, smtp_sink, emails=["ann@example.test"])
    Template.objects.filter(pk=setup.campaign.template_id or 0).update(
        html_body='<p>Hello {first_name}</p><p><a href="{preferences_url}">My subscriptions</a></p>'
    )
    offers = RecipientList.objects.create(workspace=workspace, name="Offers")
    SignupFormFactory.create(workspace=workspace, lists=[offers], fields=["first_name"])
    campaign_start(campaign=setup.campaign)
    Engine().step()
    [message] = smtp_sink.wait_for(1)

    page.context.clear_cookies()
    page.set_content(message.html)
    page.get_by_role("link", name="My subscriptions").click()
    expect(page.get_by_role("heading", name="Your subscriptions")).to_be_visible()
    expect(page.get_by_text("ann@example.test")).to_be_visible()
    everyone = page.get_by_label("Everyone")
    expect(everyone).to_be_checked()
    expect(page.get_by_label("Offers")).not_to_be_checked()
    everyone.uncheck()
    page.get_by_label("Offers").check()
    page.get_by_label("First name").fill("Annie")
    page.get_by_role("button", name="Save my choices").click()

    expect(page.get_by_text("Your choices are saved.")).to_be_visible()
    expect(page.get_by_label("Offers")).to_be_checked()
    expect(page.get_by_label("First name")).to_have_value("Annie")
    expect(page.get_by_label("Everyone")).to_have_count(0)  # on no form: once left, not offered
    ann = Recipient.objects.get(email="ann@example.test")
    assert {item.name for item in ann.lists.all()} == {"Offers"}
    assert ann.first_name == "Annie"
