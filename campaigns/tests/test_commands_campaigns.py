"""The commands: demo data (really sent through capture), cron sending, acting on a campaign."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Role, Workspace
from accounts.tests.factories import UserFactory
from audience.models import Recipient, RecipientList, RecipientStatus, Segment
from audience.tests.factories import RecipientFactory, RecipientListFactory
from campaigns.demo import CAMPAIGN_NAME, DEMO_WORKSPACE_NAME, DRAFT_NAME, demo_person
from campaigns.models import Campaign, CampaignStatus, Delivery, DeliveryStatus
from campaigns.services import campaign_start
from campaigns.tests.conftest import make_campaign
from content.models import Template
from sending.models import AccountKind, CapturedMessage, SendingAccount

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_seed_demo_fills_a_workspace_and_really_sends_through_capture(personas, settings):
    settings.SITE_URL = "https://mail.example.org"
    output = run("seed_demo", "--email", personas.owner.email, "--recipients", "40")

    # A workspace of its own, owned by that user; their real one is left alone.
    workspace = Workspace.objects.get(name=DEMO_WORKSPACE_NAME)
    assert workspace.memberships.get().user == personas.owner
    assert workspace.memberships.get().role == Role.OWNER
    assert not Recipient.objects.filter(workspace=personas.workspace).exists()
    assert Recipient.objects.filter(workspace=workspace).count() == 40
    assert set(
        RecipientList.objects.filter(workspace=workspace).values_list("name", flat=True)
    ) == {
        "Customers",
        "Newsletter",
    }
    assert Segment.objects.filter(workspace=workspace, name="Customers in Germany").exists()
    assert Template.objects.filter(workspace=workspace).count() == 2
    capture = SendingAccount.objects.get(workspace=workspace, kind=AccountKind.CAPTURE)
    campaign = Campaign.objects.get(workspace=workspace, name=CAMPAIGN_NAME)
    assert campaign.status == CampaignStatus.COMPLETED
    assert campaign.excluded_unsubscribed == 1  # recipient 36 left
    draft = Campaign.objects.get(workspace=workspace, name=DRAFT_NAME)
    assert draft.status == CampaignStatus.DRAFT
    assert [s.name for s in draft.segments.all()] == ["Customers in Germany"]
    sent = Delivery.objects.filter(campaign=campaign, status=DeliveryStatus.SENT)
    assert sent.count() == 39
    assert set(sent.values_list("account", flat=True)) == {capture.pk}
    captured = CapturedMessage.objects.filter(workspace=workspace)
    assert captured.count() == 39
    assert "39 sent" in output
    assert "40 recipients added" in output
    # Links use the configured site address, not a guessed port.
    raw = bytes(captured.values_list("raw", flat=True)[0])
    assert b"<https://mail.example.org/" in raw  # List-Unsubscribe
    assert b"127.0.0.1:8000" not in raw
    assert "Links in the demo messages point to https://mail.example.org" in output


def test_seed_demo_never_touches_a_workspace_with_real_contacts(personas, smtp_sink):
    """Demo people in a real list of the same name, then a demo campaign to that list, was
    a demo campaign sent to the user's real contacts."""
    workspace = personas.workspace
    real = RecipientFactory.create(workspace=workspace, email="boss@realcustomer.example")
    RecipientListFactory.create(workspace=workspace, name="Newsletter", members=[real])

    with pytest.raises(CommandError, match="already holds 1 recipients, 1 lists"):
        run("seed_demo", "--workspace", str(workspace.pk), "--recipients", "5")
    assert list(Recipient.objects.filter(workspace=workspace)) == [real]
    assert not Campaign.objects.exists()
    assert not CapturedMessage.objects.exists()

    # The same user asking by address gets a demo workspace beside the real one.
    run("seed_demo", "--email", personas.owner.email, "--recipients", "5")
    run("seed_demo", "--email", personas.owner.email, "--recipients", "5")  # found again
    demo = Workspace.objects.get(name=DEMO_WORKSPACE_NAME)
    assert Recipient.objects.filter(workspace=demo).count() == 5
    assert list(Recipient.objects.filter(workspace=workspace)) == [real]
    assert not Delivery.objects.filter(email=real.email).exists()
    assert not CapturedMessage.objects.filter(workspace=workspace).exists()


def test_seed_demo_without_options_makes_the_first_superusers_demo_workspace(personas):
    with pytest.raises(CommandError, match="--email"):
        run("seed_demo", "--recipients", "3")
    admin = UserFactory.create(email="admin@example.test", is_superuser=True)
    run("seed_demo", "--recipients", "3")
    demo = Workspace.objects.get(name=DEMO_WORKSPACE_NAME)
    assert demo.memberships.get().user == admin


def test_seed_demo_twice_duplicates_nothing(personas):
    run("seed_demo", "--workspace", str(personas.workspace.pk), "--recipients", "10")
    output = run("seed_demo", "--workspace", str(personas.workspace.pk), "--recipients", "10")
    assert "0 recipients added" in output
    assert Recipient.objects.filter(workspace=personas.workspace).count() == 10
    assert Template.objects.filter(workspace=personas.workspace).count() == 2
    assert Campaign.objects.filter(workspace=personas.workspace).count() == 2
    assert CapturedMessage.objects.filter(workspace=personas.workspace).count() == 10
    assert SendingAccount.objects.filter(workspace=personas.workspace).count() == 1


def test_the_demo_people_are_deterministic_and_realistic():
    first = demo_person(0)
    assert (first.first_name, first.last_name, first.company) == (
        "Anna",
        "Müller",
        "Northwind Traders",
    )
    assert first.email == "anna.muller.0@example.com"
    assert demo_person(21).email == demo_person(21).email
    assert len({demo_person(n).email for n in range(500)}) == 500
    assert demo_person(36).status == RecipientStatus.UNSUBSCRIBED


@pytest.mark.parametrize("alias", ["seed_database", "add_test_data", "create_sample_data"])
def test_the_seeds_names_do_the_same(personas, alias):
    run(alias, "--workspace", str(personas.workspace.pk), "--recipients", "5")
    assert Recipient.objects.filter(workspace=personas.workspace).count() == 5
    demo = Campaign.objects.get(workspace=personas.workspace, name=CAMPAIGN_NAME)
    assert demo.status == CampaignStatus.COMPLETED


def test_show_seeded_data_prints_counts_per_kind(personas):
    run("seed_demo", "--workspace", str(personas.workspace.pk), "--recipients", "6")
    output = run("show_seeded_data", "--email", personas.owner.email)
    assert "Acme" in output
    lines = dict(line.rsplit(None, 1) for line in output.splitlines()[1:])
    assert lines["  recipients"] == "6"
    assert lines["  lists"] == "2"
    assert lines["  templates"] == "2"
    assert lines["  campaigns"] == "2"
    assert lines["  captured messages"] == "6"


def test_the_workspace_options_are_checked(personas):
    with pytest.raises(CommandError, match="There is no workspace 99999"):
        run("seed_demo", "--workspace", "99999")
    with pytest.raises(CommandError, match="owns no workspace"):
        run("show_seeded_data", "--email", personas.viewer.email)
    with pytest.raises(CommandError, match="at least 1"):
        run("seed_demo", "--recipients", "0")


@pytest.mark.parametrize("name", ["send_emails", "send_mailings"])
def test_send_emails_sends_what_is_due_and_exits(personas, smtp_sink, name):
    setup = make_campaign(personas.workspace, smtp_sink, n=7)
    campaign_start(campaign=setup.campaign)

    output = run(name)

    assert "Sent 7 messages" in output
    assert len(smtp_sink.wait_for(7)) == 7
    setup.campaign.refresh_from_db()
    assert setup.campaign.status == CampaignStatus.COMPLETED
    assert "Sent 0 messages" in run(name)


def test_send_emails_starts_a_scheduled_campaign_that_is_due(personas, smtp_sink):
    setup = make_campaign(personas.workspace, smtp_sink, n=2)
    Campaign.objects.filter(pk=setup.campaign.pk).update(
        status=CampaignStatus.SCHEDULED, schedule_mode="at", scheduled_at="2020-01-01T00:00Z"
    )
    assert "Sent 2 messages" in run("send_emails")


def test_the_campaign_command_pauses_resumes_and_cancels(personas, smtp_sink):
    setup = make_campaign(personas.workspace, smtp_sink, n=3)
    pk = str(setup.campaign.pk)
    assert "is now running" in run("campaign", "start", pk)
    assert "is now paused" in run("campaign", "pause", pk)
    assert Campaign.objects.get().status_reason == "Paused by command."
    with pytest.raises(CommandError, match="A paused campaign cannot be paused"):
        run("campaign", "pause", pk)
    assert "is now running" in run("campaign", "resume", pk)
    assert "is now cancelled" in run("campaign", "cancel", pk)
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.CANCELLED}
    with pytest.raises(CommandError, match="There is no campaign 99999"):
        run("campaign", "pause", "99999")


def test_the_first_demo_admin_gets_a_living_demo_workspace(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    output = run("demo_admin")
    assert "Created the demo administrator." in output
    campaign = Campaign.objects.get(name=CAMPAIGN_NAME)
    assert campaign.workspace.name == "Demo workspace"
    assert campaign.status == CampaignStatus.COMPLETED
    assert CapturedMessage.objects.filter(workspace=campaign.workspace).count() > 100
    run("demo_admin")  # the second start seeds nothing more
    assert Campaign.objects.count() == 2
