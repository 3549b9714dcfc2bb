"""The preference centre, through HTTP: the `{preferences_url}` of a message really sent to the
test SMTP server opens `/p/<token>/`, where a visitor without any cookie changes lists and
details (CSRF-protected), or unsubscribes from everything; the public API does the same under
its own throttle; a test send's link opens a demo that changes nothing."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from audience.models import (
    Consent,
    ConsentMethod,
    CustomField,
    ListMembership,
    Recipient,
    RecipientList,
    RecipientStatus,
    Suppression,
    SuppressionReason,
)
from audience.selectors import placeholder_names
from audience.tests.factories import RecipientFactory, RecipientListFactory
from campaigns import links
from campaigns.engine.step import Engine
from campaigns.models import Delivery
from campaigns.services import campaign_start
from campaigns.tests.conftest import make_campaign
from content.models import Template
from content.rendering import sample_values
from sending.tests.factories import SendingAccountFactory
from subscriptions.tests.factories import SignupFormFactory
from tracking.models import Event, EventKind

pytestmark = pytest.mark.django_db

HTML = (
    "<p>Dear {first_name|friend}</p>"
    '<p><a href="{unsubscribe_url}">Unsubscribe</a> <a href="{preferences_url}">Preferences</a></p>'
)
TEXT = "Dear {first_name|friend}\nUnsubscribe: {unsubscribe_url}\nPreferences: {preferences_url}\n"


def path_of(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


def link_in(text: str, label: str) -> str:
    match = re.search(rf"{label}: (\S+)", text)
    assert match, text
    return path_of(match.group(1))


def csrf_of(page: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert match, page
    return match.group(1)


class World:
    """A campaign sent to Ann (on "Everyone"), a form offering "Offers" and asking first
    name and age, and a custom field no form asks."""

    def __init__(self, personas, smtp_sink):
        self.workspace = personas.workspace
        setup = make_campaign(self.workspace, smtp_sink, emails=["ann@example.test"])
        Template.objects.filter(pk=setup.campaign.template_id or 0).update(
            html_body=HTML, text_body=TEXT
        )
        self.everyone = RecipientList.objects.get(workspace=self.workspace, name="Everyone")
        self.offers = RecipientListFactory.create(workspace=self.workspace, name="Offers")
        self.hidden = RecipientListFactory.create(workspace=self.workspace, name="Staff only")
        CustomField.objects.create(workspace=self.workspace, key="age", label="Age", type="number")
        CustomField.objects.create(workspace=self.workspace, key="score", label="Score")
        SignupFormFactory.create(
            workspace=self.workspace, lists=[self.offers], fields=["first_name", "age"]
        )
        campaign_start(campaign=setup.campaign)
        Engine().step()
        [self.message] = smtp_sink.wait_for(1)
        self.ann = Recipient.objects.get(email="ann@example.test")
        self.delivery = Delivery.objects.get()
        self.path = link_in(self.message.text, "Preferences")

    def lists(self) -> set[str]:
        return {item.name for item in self.ann.lists.all()}


@pytest.fixture
def world(personas, smtp_sink):
    return World(personas, smtp_sink)


def open_page(world: World) -> tuple[Client, str]:
    """A visitor with no cookie at all opens the link, as from a mail program."""
    client = Client(enforce_csrf_checks=True, REMOTE_ADDR="198.51.100.77")
    page = client.get(world.path)
    assert page.status_code == 200
    return client, page.content.decode()


def submit(world: World, **data):
    client, page = open_page(world)
    return client.post(world.path, {"csrfmiddlewaretoken": csrf_of(page), **data})


def test_a_sent_message_carries_a_working_preferences_link(world):
    assert world.path == f"/p/{links.token_for(world.delivery.pk)}/"
    assert world.path in world.message.html
    _client, page = open_page(world)
    assert "ann@example.test" in page
    # Her list, ticked; the form's list, offered; a list of neither is never named.
    assert re.search(rf'value="{world.everyone.pk}"[^>]*checked', page)
    assert f'value="{world.offers.pk}"' in page
    assert "Staff only" not in page
    assert 'name="field_age"' in page
    assert 'name="field_score"' not in page
    assert '<html lang="en">' in page


def test_the_page_speaks_the_visitors_language(world):
    response = Client(HTTP_ACCEPT_LANGUAGE="ru").get(world.path)
    assert '<html lang="ru">' in response.content.decode()
    # The token is in the address; "no-referrer" would make Chromium's form POST fail CSRF.
    assert response["Referrer-Policy"] == "same-origin"


def test_ticking_and_unticking_lists_is_saved_with_consent(world, personas):
    response = submit(world, lists=[world.offers.pk], first_name="Name0")
    assert response.status_code == 302
    assert response["Location"] == f"{world.path}?saved=1"
    assert world.lists() == {"Offers"}
    consent = Consent.objects.get()
    assert (consent.method, consent.list_name, consent.source) == (
        ConsentMethod.PREFERENCES,
        "Offers",
        "Preference centre",
    )
    assert consent.signed_up_ip == "198.51.100.0"  # truncated, as the workspace keeps them
    submit(world, lists=[])
    assert world.lists() == set()
    personas.workspace.reader_ips = "none"
    personas.workspace.save()
    # "Everyone" is on no form: once left, it is not offered, so not joined again here.
    refused = submit(world, lists=[world.offers.pk, world.everyone.pk])
    assert refused.status_code == 400
    assert world.lists() == set()
    submit(world, lists=[world.offers.pk])
    assert world.lists() == {"Offers"}
    assert Consent.objects.filter(list_name="Offers").latest("pk").signed_up_ip is None
    assert Consent.objects.count() == 2


def test_details_are_updated_and_only_the_asked_fields(world):
    world.ann.fields = {"score": 7}
    world.ann.save()
    response = submit(
        world,
        lists=[world.everyone.pk],
        first_name="Annie",
        last_name="Smith",
        field_age="41",
        field_score="99",  # asked by no form: not the visitor's to change
    )
    assert response.status_code == 302
    world.ann.refresh_from_db()
    assert (world.ann.first_name, world.ann.last_name) == ("Annie", "Smith")
    assert world.ann.fields == {"score": 7, "age": 41}
    page = Client().get(response["Location"]).content.decode()
    assert "Your choices are saved." in page
    assert 'value="41"' in page


def test_a_bad_custom_value_is_refused_and_nothing_is_saved(world):
    response = submit(world, lists=[world.offers.pk], first_name="Bob", field_age="old")
    assert response.status_code == 400
    assert "is not a number" in response.content.decode()
    world.ann.refresh_from_db()
    assert world.ann.first_name == "Name0"
    assert world.lists() == {"Everyone"}
    assert not Consent.objects.exists()


def test_a_post_without_the_csrf_token_is_refused(world):
    client, _page = open_page(world)
    response = client.post(world.path, {"lists": [world.offers.pk]})
    assert response.status_code == 403
    assert world.lists() == {"Everyone"}


def test_unsubscribe_from_everything_is_the_one_click_unsubscribe(world):
    response = submit(world, unsubscribe_all="1")
    assert response.status_code == 200
    assert "You are unsubscribed" in response.content.decode()
    suppression = Suppression.objects.get(email="ann@example.test")
    assert suppression.reason == SuppressionReason.UNSUBSCRIBED
    assert suppression.source.startswith("preference centre")
    world.ann.refresh_from_db()
    assert world.ann.status == RecipientStatus.UNSUBSCRIBED
    assert Event.objects.get().kind == EventKind.UNSUBSCRIBED
    # Afterwards the page says so, and offers nothing to change.
    again = Client().get(world.path)
    assert again.status_code == 200
    assert 'id="preferences-closed"' in again.content.decode()
    assert "<form" not in again.content.decode().split("<main", 1)[1]


def test_a_suppressed_or_erased_recipient_gets_a_clear_page(world):
    Suppression.objects.create(
        workspace=world.workspace, email="ann@example.test", reason=SuppressionReason.MANUAL
    )
    page = Client().get(world.path)
    assert page.status_code == 200
    assert "gets no e-mails from this sender" in page.content.decode()
    Suppression.objects.all().delete()
    world.ann.delete()  # erased: the delivery keeps its address, no recipient
    page = Client().get(world.path)
    assert page.status_code == 200
    assert "gets no e-mails from this sender" in page.content.decode()
    assert Client().post(world.path, {"unsubscribe_all": "1"}).status_code == 200


def test_forged_tokens_and_other_workspaces_answer_404_and_change_nothing(world, personas):
    forged = links.token_for(world.delivery.pk)[:-2] + "xx"
    assert Client().get(f"/p/{forged}/").status_code == 404
    assert APIClient().get(f"/api/public/preferences/{forged}/").status_code == 404
    # Another workspace's list, posted by hand, is neither shown nor joined.
    theirs = RecipientListFactory.create(workspace=personas.other_workspace, name="Theirs")
    submit(world, lists=[world.everyone.pk, theirs.pk])
    assert world.lists() == {"Everyone"}
    # A delivery pointing at another workspace's person opens nothing.
    stranger = RecipientFactory.create(workspace=personas.other_workspace, email="x@example.test")
    Delivery.objects.filter(pk=world.delivery.pk).update(recipient=stranger)
    assert Client().get(world.path).status_code == 404


def test_the_unsubscribe_page_offers_the_preference_centre(world):
    unsubscribe = path_of(world.message.header("List-Unsubscribe").strip("<>"))
    page = Client().get(unsubscribe).content.decode()
    assert f'href="{world.path}"' in page


def test_the_placeholder_is_offered_to_templates_and_previews(personas):
    assert "preferences_url" in placeholder_names(personas.workspace)
    assert sample_values(["preferences_url"])["preferences_url"].startswith("https://")


# ---------------------------------------------------------------------------- the API


def api_path(world: World) -> str:
    return f"/api/public/preferences/{links.token_for(world.delivery.pk)}/"


def test_the_api_reads_and_changes_the_same(world):
    api = APIClient(REMOTE_ADDR="203.0.113.5")
    shown = api.get(api_path(world)).json()
    assert shown["email"] == "ann@example.test"
    assert shown["status"] == "open"
    assert {(i["name"], i["subscribed"]) for i in shown["lists"]} == {
        ("Everyone", True),
        ("Offers", False),
    }
    assert shown["values"] == {"first_name": "Name0", "last_name": "", "age": ""}
    changed = api.patch(
        api_path(world),
        {"lists": [world.offers.pk], "values": {"age": "33", "first_name": "Ann"}},
        format="json",
    )
    assert changed.status_code == 200
    assert changed.json()["values"]["age"] == "33"
    assert world.lists() == {"Offers"}
    assert Consent.objects.get().signed_up_ip == "203.0.113.0"
    # Fields only: the lists stay as they are.
    api.patch(api_path(world), {"values": {"last_name": "Lee"}}, format="json")
    assert world.lists() == {"Offers"}
    bad = api.patch(api_path(world), {"values": {"age": "x"}, "lists": []}, format="json")
    assert bad.status_code == 400
    assert "is not a number" in bad.json()["error"]["fields"]["values.age"][0]["message"]
    assert world.lists() == {"Offers"}
    done = api.patch(api_path(world), {"unsubscribe_all": True}, format="json")
    assert done.json()["status"] == "closed"
    assert Suppression.objects.filter(email="ann@example.test").exists()
    closed = api.patch(api_path(world), {"lists": [world.offers.pk]}, format="json")
    assert closed.status_code == 409


def test_the_api_has_its_own_throttle(world, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "preferences": "3/min",
        },
    }
    api = APIClient(REMOTE_ADDR="192.0.2.10")
    statuses = [api.get(api_path(world)).status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    # Another client has its own budget; the sign-up API's budget is not this one.
    assert APIClient(REMOTE_ADDR="192.0.2.11").get(api_path(world)).status_code == 200


# ---------------------------------------------------------------------------- test sends


def test_a_test_sends_link_opens_a_demo_that_changes_nothing(
    world, personas, smtp_sink, editor_client
):
    template = Template.objects.get(pk=world.delivery.campaign.template_id)
    account = SendingAccountFactory.create(
        workspace=personas.workspace,
        smtp_host=smtp_sink.host,
        smtp_port=smtp_sink.port,
        min_interval_seconds=0,
    )
    url = reverse("sending:template_test_send", kwargs={"template_id": template.pk})
    editor_client.post(url, {"account": account.pk, "addresses": "ann@example.test"})
    [_campaign, test] = smtp_sink.wait_for(2)
    demo = link_in(test.text, "Preferences")
    assert demo.startswith("/t/p/")
    client = Client(enforce_csrf_checks=True)
    page = client.get(demo).content.decode()
    assert 'id="test-link"' in page
    assert "Offers" in page
    assert "Everyone" not in page  # no one's memberships are shown
    done = client.post(
        demo,
        {"csrfmiddlewaretoken": csrf_of(page), "lists": [world.offers.pk], "unsubscribe_all": "1"},
    )
    assert done.status_code == 200
    assert 'id="test-done"' in done.content.decode()
    assert world.lists() == {"Everyone"}
    assert not Consent.objects.exists()
    assert not Suppression.objects.exists()
    assert ListMembership.objects.count() == 1
    assert Client().get(demo[:-3] + "xx/").status_code == 404
    # The test's unsubscribe page leads to the same demo.
    unsubscribe = Client().get(link_in(test.text, "Unsubscribe")).content.decode()
    assert f'href="{demo}"' in unsubscribe
