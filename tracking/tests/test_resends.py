"""Resends of a finished campaign, through the real SMTP server: to those whose delivery
failed, to those who did not open it (new subject), and to those who joined its lists since;
each a draft linked to the first, its audience fixed when it is made."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from audience.models import Suppression
from audience.tests.factories import ListMembershipFactory, RecipientFactory, RecipientListFactory
from campaigns.engine.step import Engine
from campaigns.models import Campaign, CampaignStatus, DeliveryStatus, ResendRecipient
from campaigns.services import campaign_start
from campaigns.tests.conftest import make_campaign
from conftest import client_for
from content.models import Template
from tracking import resends
from tracking.events import Fact, record
from tracking.models import EventKind, EventSource

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _engine_settings(settings):
    settings.SENDING_ALLOW_PRIVATE_HOSTS = True
    settings.SENDING_TIMEOUT = 5
    settings.SITE_URL = "https://mail.example.test"


def _run(campaign: Campaign, time_machine) -> Campaign:
    engine = Engine(batch_size=50)
    for _ in range(4):
        engine.step()
        time_machine.shift(timedelta(seconds=2))
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.COMPLETED
    return campaign


def _sent_campaign(personas, smtp_sink, time_machine, **fields):
    time_machine.move_to("2026-11-21 09:00:00Z", tick=False)
    setup = make_campaign(personas.workspace, smtp_sink, n=4)
    for name, value in fields.items():
        setattr(setup.campaign, name, value)
    setup.campaign.save()
    campaign_start(campaign=setup.campaign)
    _run(setup.campaign, time_machine)
    return setup


def _resend_of(campaign: Campaign) -> Campaign:
    return Campaign.objects.get(resent_from=campaign)


def test_resend_to_the_failed_asks_first_then_sends_to_them_only(personas, smtp_sink, time_machine):
    time_machine.move_to("2026-11-21 09:00:00Z", tick=False)
    smtp_sink.set_reply("person0@example.test", "554 5.7.1 Refused by policy", times=1)
    setup = _sent_campaign(personas, smtp_sink, time_machine)
    campaign = setup.campaign
    assert campaign.deliveries.filter(status=DeliveryStatus.FAILED).count() == 1
    client = client_for(personas.owner)

    report = client.get(f"/campaigns/{campaign.pk}/report/").content.decode()
    assert "Whose delivery failed or expired: 1" in report

    url = f"/campaigns/{campaign.pk}/resend/failed/"
    asked = client.post(url)
    assert asked.status_code == 200
    assert "to 1 recipients?" in asked.content.decode()
    assert not Campaign.objects.filter(resent_from=campaign).exists()

    made = client.post(url, {"confirmed": "yes"})
    resend = _resend_of(campaign)
    assert made.status_code == 302
    assert made["Location"] == f"/campaigns/{resend.pk}/"
    assert (resend.status, resend.resend_kind) == (CampaignStatus.DRAFT, "failed")
    # The report's counts are kept for a minute, but a resend made forgets them at once.
    report = client.get(f"/campaigns/{campaign.pk}/report/").content.decode()
    assert "Whose delivery failed or expired: 0" in report
    assert resend.subject == "Hello {first_name}"  # the subject it was sent with
    # Fixed at creation: a recipient who joins the list later is not part of it.
    ListMembershipFactory.create(
        recipient_list=campaign.lists.get(), recipient__email="late@example.test"
    )

    smtp_sink.reset()
    campaign_start(campaign=resend)
    _run(resend, time_machine)
    assert [m.rcpt_tos for m in smtp_sink.messages] == [["person0@example.test"]]

    # Both pages link the two.
    page = client.get(f"/campaigns/{resend.pk}/").content.decode()
    assert f'href="/campaigns/{campaign.pk}/"' in page
    page = client.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert f'href="/campaigns/{resend.pk}/"' in page

    # A second resend of the same kind leaves out whom the first reached, unless asked.
    with pytest.raises(resends.ResendError, match="Nobody is left"):
        resends.campaign_resend(campaign=campaign, kind="failed", now=resend.created_at)
    again = resends.campaign_resend(
        campaign=campaign, kind="failed", include_previous=True, now=resend.created_at
    )
    assert again.recipients == 1


def test_resend_to_those_who_did_not_open_with_a_new_subject(personas, smtp_sink, time_machine):
    setup = _sent_campaign(personas, smtp_sink, time_machine, track_opens=True)
    campaign = setup.campaign
    deliveries = {d.email: d for d in campaign.deliveries.all()}
    for email, kind in (("person1", EventKind.OPENED), ("person2", EventKind.CLICKED)):
        record(
            Fact(kind=kind, source=EventSource.LINK), delivery=deliveries[f"{email}@example.test"]
        )
    client = client_for(personas.owner)
    url = f"/api/campaigns/{campaign.pk}/resend/"

    options = {o["kind"]: o for o in client.get(url).json()}
    assert options["unopened"]["count"] == 2
    no_subject = client.post(url, {"kind": "unopened"}, content_type="application/json")
    assert no_subject.status_code == 400
    made = client.post(
        url, {"kind": "unopened", "subject": "Did you see this?"}, content_type="application/json"
    )
    assert made.status_code == 201, made.content
    assert made.json()["recipients"] == 2
    resend = Campaign.objects.get(pk=made.json()["id"])
    assert resend.resent_from_id == campaign.pk

    smtp_sink.reset()
    campaign_start(campaign=resend)
    _run(resend, time_machine)
    got = sorted((m.rcpt_tos[0], m.subject) for m in smtp_sink.messages)
    assert got == [
        ("person0@example.test", "Did you see this?"),
        ("person3@example.test", "Did you see this?"),
    ]


def test_no_resend_to_the_unopened_without_open_tracking(personas, smtp_sink, time_machine):
    setup = _sent_campaign(personas, smtp_sink, time_machine, track_opens=False)
    client = client_for(personas.owner)
    url = f"/api/campaigns/{setup.campaign.pk}/resend/"
    options = {o["kind"]: o for o in client.get(url).json()}
    assert "did not track opens" in options["unopened"]["refusal"]
    refused = client.post(url, {"kind": "unopened", "subject": "Again"}, "application/json")
    assert refused.status_code == 400
    report = client.get(f"/campaigns/{setup.campaign.pk}/report/").content.decode()
    assert "It did not track opens" in report


def test_resend_to_those_who_joined_its_lists_since(personas, smtp_sink, time_machine):
    setup = _sent_campaign(personas, smtp_sink, time_machine)
    campaign = setup.campaign
    time_machine.shift(timedelta(days=1))
    joined = [
        RecipientFactory.create(workspace=personas.workspace, email=f"new{i}@example.test")
        for i in range(3)
    ]
    members = campaign.lists.get()
    for person in joined:
        ListMembershipFactory.create(recipient_list=members, recipient=person)
    Suppression.objects.create(workspace=personas.workspace, email="new2@example.test")
    # Someone added to another list is not a new member of this campaign's lists.
    stranger = RecipientFactory.create(workspace=personas.workspace, email="other@example.test")
    RecipientListFactory.create(workspace=personas.workspace, name="Other", members=[stranger])

    made = resends.campaign_resend(campaign=campaign, kind="new_members", now=joined[0].created_at)
    assert made.recipients == 2
    # While that draft waits, a second one would send to the same people: nobody is left.
    with pytest.raises(resends.ResendError):
        resends.campaign_resend(campaign=campaign, kind="new_members", now=joined[0].created_at)

    smtp_sink.reset()
    campaign_start(campaign=made.campaign)
    _run(made.campaign, time_machine)
    assert sorted(m.rcpt_tos[0] for m in smtp_sink.messages) == [
        "new0@example.test",
        "new1@example.test",
    ]
    assert ResendRecipient.objects.filter(campaign=made.campaign).count() == 2


def test_a_running_campaign_is_not_resent(personas, smtp_sink, time_machine):
    time_machine.move_to("2026-11-21 09:00:00Z", tick=False)
    setup = make_campaign(personas.workspace, smtp_sink, n=2)
    campaign_start(campaign=setup.campaign)
    client = client_for(personas.owner)
    response = client.post(
        f"/api/campaigns/{setup.campaign.pk}/resend/", {"kind": "failed"}, "application/json"
    )
    assert response.status_code == 400
    assert "Only a finished campaign" in response.content.decode()


def test_viewers_cannot_resend(personas, smtp_sink, time_machine):
    setup = _sent_campaign(personas, smtp_sink, time_machine)
    viewer = client_for(personas.viewer)
    page = viewer.post(f"/campaigns/{setup.campaign.pk}/resend/failed/", {"confirmed": "yes"})
    assert page.status_code == 403
    api = viewer.post(
        f"/api/campaigns/{setup.campaign.pk}/resend/", {"kind": "failed"}, "application/json"
    )
    assert api.status_code == 403
    assert not Campaign.objects.filter(resent_from=setup.campaign).exists()


def test_a_resend_is_edited_without_an_audience_to_choose(personas, smtp_sink, time_machine):
    from django.utils import timezone

    from conftest import api_key_client

    setup = _sent_campaign(personas, smtp_sink, time_machine, track_opens=True)
    resend = resends.campaign_resend(
        campaign=setup.campaign, kind="unopened", subject="Did you see it?", now=timezone.now()
    ).campaign
    client = client_for(personas.owner)
    url = f"/campaigns/{resend.pk}/edit/"

    page = client.get(url).content.decode()
    assert 'id="fixed-audience"' in page
    assert "fixed when it was made: <strong>4</strong> recipients" in page
    assert 'name="lists"' not in page
    assert 'name="segments"' not in page

    saved = client.post(
        url,
        {
            "name": "Second chance",
            "template": setup.campaign.template_id,
            "accounts": [a.pk for a in setup.campaign.accounts.all()],
            "schedule_mode": "now",
            "track_opens": "",
            "track_clicks": "",
        },
    )
    assert saved.status_code == 302, saved.content.decode()
    resend.refresh_from_db()
    assert resend.name == "Second chance"
    assert ResendRecipient.objects.filter(campaign=resend).count() == 4

    api = api_key_client(personas.workspace, "editor", created_by=personas.owner)
    renamed = api.patch(f"/api/campaigns/{resend.pk}/", {"name": "Third"}, format="json")
    assert renamed.status_code == 200, renamed.json()
    # An ordinary campaign still needs an audience.
    emptied = api.patch(
        f"/api/campaigns/{setup.campaign.pk}/", {"list_ids": [], "name": "x"}, format="json"
    )
    assert emptied.status_code in (400, 409)


def _failed_once(personas, smtp_sink, time_machine, **fields):
    """A campaign sent, person0 refused; then its template edited."""
    smtp_sink.set_reply("person0@example.test", "554 5.7.1 Refused by policy", times=1)
    campaign = _sent_campaign(personas, smtp_sink, time_machine, **fields).campaign
    template = Template.objects.get(pk=campaign.template_id)
    template.html_body = '<p>Edited since: <a href="https://example.com/new">new</a></p>'
    template.text_body = "Edited since"
    template.save()
    resend = resends.campaign_resend(
        campaign=campaign, kind="failed", subject="Second try", now=timezone.now()
    ).campaign
    smtp_sink.reset()
    return campaign, resend


def test_a_resend_sends_what_its_campaign_sent_not_the_template_edited_since(
    personas, smtp_sink, time_machine
):
    """The people a resend reaches missed the first message: they get that message (its
    body and tracked links as sent, its files copied), under the resend's subject."""
    campaign, resend = _failed_once(personas, smtp_sink, time_machine, track_clicks=True)
    campaign_start(campaign=resend)
    _run(resend, time_machine)
    [message] = smtp_sink.messages
    assert message.rcpt_tos == ["person0@example.test"]
    assert message.subject == "Second try"
    body = message.html or ""
    assert "Dear Name0 of Acme" in body  # the body as sent, personalised
    assert "Edited since" not in body
    resend.refresh_from_db()
    assert resend.content.get("links") == campaign.content.get("links")
    assert resend.content["html"] == campaign.content["html"]
    assert resend.content["subject"] == "Second try"


def test_a_resend_given_another_template_or_tracking_sends_the_template(
    personas, smtp_sink, time_machine
):
    _, resend = _failed_once(personas, smtp_sink, time_machine)
    resend.track_opens = True  # its links and pixel are made anew, from the template
    resend.save()
    campaign_start(campaign=resend)
    _run(resend, time_machine)
    [message] = smtp_sink.messages
    assert "Edited since" in (message.html or "")
    assert message.subject == "Second try"
