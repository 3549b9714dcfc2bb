"""A/B tests of whole content: each variant is a template, frozen at the launch with its own
links (numbered on from the variants before it, so one list serves every click), sent through
the real engine and SMTP server; the winner's content goes to the rest."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from automation.ab_decisions import run_ab_test_step
from automation.ab_reports import variant_figures
from campaigns import links, tracked_links
from campaigns.ab_tests import AbTestSetup, ab_test_save
from campaigns.engine.step import Engine
from campaigns.models import AbTestState, Campaign, CampaignStatus, Delivery, Variant
from campaigns.selectors import message_as_sent
from campaigns.services import CampaignError, campaign_queue_launch, campaign_start
from campaigns.tests.api_setup import stage
from campaigns.tests.conftest import make_campaign
from campaigns.tests.test_views_campaigns import form_data, make_world
from content.models import Template
from content.services import attachment_add
from content.tests.factories import TemplateFactory
from tracking.models import Event, EventKind

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
PERSON = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120"
URL = "/api/campaigns/"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def run_until_idle(engine: Engine, rounds: int = 100) -> None:
    for _ in range(rounds):
        if not engine.step():
            return


def tracked(body: str) -> list[str]:
    return re.findall(r"https?://[^\s\"'<>]+/c/[^\s\"'<>]+", body)


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def content_test(personas, sink, n=20, percent=50, criterion="clicks"):
    """A campaign whose variant A is its template (one link) and B another template (two
    links, a file of its own), with click tracking on."""
    workspace = personas.workspace
    workspace.track_clicks = True
    workspace.save()
    setup = make_campaign(workspace, sink, n=n)
    Template.objects.filter(pk=setup.campaign.template_id or 0).update(
        html_body='<p>Dear {first_name}</p><p><a href="https://shop.example/a">Shop A</a></p>'
        '<p><a href="{unsubscribe_url}">Unsubscribe</a></p>',
        text_body="Dear {first_name}\nhttps://shop.example/a\n{unsubscribe_url}",
    )
    other = TemplateFactory.create(
        workspace=workspace,
        name="Bold offer",
        subject="Only today, {first_name}",
        html_body='<p>Bonjour {first_name}</p><p><a href="https://shop.example/b">B</a> '
        '<a href="https://shop.example/b2">B2</a></p><p><a href="{unsubscribe_url}">Stop</a></p>',
        text_body="",
    )
    attachment_add(template=other, filename="offer.pdf", data=b"%PDF-1.4 offer\n%%EOF\n")
    ab_test_save(
        campaign=setup.campaign,
        setup=AbTestSetup(
            kind="content",
            values=[],
            test_percent=percent,
            criterion=criterion,
            wait_hours=4,
            template_ids=[setup.campaign.template_id or 0, other.pk],
        ),
    )
    return setup, other


def variant_by_address() -> dict[str, str]:
    rows = Delivery.objects.exclude(variant=None).values_list("email", "variant__position")
    return {email: "ABCDE"[position] for email, position in rows}


def test_each_share_gets_its_template_clicks_count_for_it_and_the_winner_goes_to_the_rest(
    personas, smtp_sink, time_machine
):
    time_machine.move_to(START, tick=False)
    setup, other = content_test(personas, smtp_sink)
    assert campaign_start(campaign=setup.campaign).inserted == 10
    run_until_idle(Engine(batch_size=4))

    messages = smtp_sink.wait_for(10)
    label_of = variant_by_address()
    assert Counter(label_of.values()) == {"A": 5, "B": 5}
    by_label: dict[str, list[Any]] = {"A": [], "B": []}
    for m in messages:
        by_label[label_of[m.rcpt_tos[0]]].append(m)
    for m in by_label["A"]:
        assert m.subject.startswith("Hello Name")
        assert "Dear Name" in m.html
        assert "Bonjour" not in m.html
        assert [u.rsplit("/", 1)[1] for u in tracked(m.html)] == ["0"]
        assert m.attachments == []
    for m in by_label["B"]:
        assert m.subject.startswith("Only today, Name")
        assert "Bonjour Name" in m.html
        assert "Dear" not in m.html
        assert "Bonjour Name" in m.text  # the text part made from B's own HTML
        # B's links come after A's in the campaign's one list.
        assert [u.rsplit("/", 1)[1] for u in tracked(m.html)] == ["1", "2"]
        assert [name for name, _, _ in m.attachments] == ["offer.pdf"]
    campaign = Campaign.objects.get(pk=setup.campaign.pk)
    assert [link[0] for link in campaign.content["links"]] == [
        "https://shop.example/a",
        "https://shop.example/b",
        "https://shop.example/b2",
    ]
    assert list(Variant.objects.values_list("value", "template_id")) == [
        ("Hello", None),
        ("Bold offer", other.pk),
    ]

    # Readers click a minute later (sooner would be a scanner's click).
    time_machine.move_to(START + dt.timedelta(minutes=1), tick=False)
    reader = Client(HTTP_USER_AGENT=PERSON)
    for m in by_label["B"][:3]:
        response = reader.get(path_of(tracked(m.html)[0]))
        assert response["Location"] == "https://shop.example/b"
    response = reader.get(path_of(tracked(by_label["A"][0].html)[0]))
    assert response["Location"] == "https://shop.example/a"
    b_clicks = Event.objects.filter(kind=EventKind.CLICKED, link_index=1)
    assert {label_of[email] for email in b_clicks.values_list("delivery__email", flat=True)} == {
        "B"
    }
    figures = {f.label: (f.sent, f.successes) for f in variant_figures(campaign.ab_test)}
    assert figures == {"A": (5, 1), "B": (5, 3)}

    # The wait is over: B wins on clicks and goes, with its content, to the other ten.
    time_machine.move_to(START + dt.timedelta(hours=4, minutes=1), tick=False)
    run_ab_test_step()
    run_until_idle(Engine(batch_size=4))
    messages = smtp_sink.wait_for(20)
    assert len({m.rcpt_tos[0] for m in messages}) == len(messages) == 20
    rest = [m for m in messages if m.rcpt_tos[0] not in label_of]
    assert len(rest) == 10
    assert all(m.subject.startswith("Only today") and "Bonjour" in m.html for m in rest)
    assert all([n for n, _, _ in m.attachments] == ["offer.pdf"] for m in rest)
    response = reader.get(path_of(tracked(rest[0].html)[1]))
    assert response["Location"] == "https://shop.example/b2"
    test = Campaign.objects.get(pk=setup.campaign.pk).ab_test
    assert test.winner is not None
    assert (test.state, test.winner.label) == (AbTestState.DECIDED, "B")


def test_the_view_in_browser_page_shows_the_variants_own_content(personas, smtp_sink):
    setup, _ = content_test(personas, smtp_sink, n=4)
    campaign_start(campaign=setup.campaign)
    delivery = Delivery.objects.select_related("campaign", "variant").get(variant__position=1)
    parts, _values = message_as_sent(delivery, links.token_for(delivery.pk))
    assert parts.subject == "Only today, {first_name}"
    assert "Bonjour" in parts.html


def test_a_broken_variant_template_refuses_the_launch_and_sends_nothing(personas, smtp_sink):
    setup, other = content_test(personas, smtp_sink, n=6)
    Template.objects.filter(pk=other.pk).update(subject="Hi {no_such_field}")
    with pytest.raises(CampaignError, match="Variant B: The template “Bold offer” has an error"):
        campaign_queue_launch(campaign=setup.campaign)
    with pytest.raises(CampaignError, match="Variant B: The template “Bold offer” has an error"):
        campaign_start(campaign=setup.campaign)
    Template.objects.filter(pk=other.pk).delete()
    with pytest.raises(CampaignError, match="Variant B: its template no longer exists"):
        campaign_start(campaign=setup.campaign)
    campaign = Campaign.objects.get(pk=setup.campaign.pk)
    assert (campaign.status, campaign.content) == (CampaignStatus.DRAFT, {})
    assert not Delivery.objects.exists()
    run_until_idle(Engine())
    assert smtp_sink.messages == []


def test_a_template_of_another_workspace_is_refused(personas, editor_client, api_for):
    foreign = TemplateFactory.create(workspace=personas.other_workspace, name="Theirs")
    world = make_world(personas.workspace)
    data = form_data(
        world,
        ab_enabled="on",
        ab_kind="content",
        ab_template_1=str(foreign.pk),
        ab_test_percent="20",
        ab_criterion="opens",
        ab_wait_hours="4",
    )
    page = editor_client.post(reverse("campaigns:create"), data).content.decode()
    fieldset = page[page.index('id="ab-test-fields"') :]
    assert "Select a valid choice" in fieldset
    assert not Campaign.objects.exists()

    s = stage(personas.workspace)
    test = {"kind": "content", "template_ids": [s.template.pk, foreign.pk]}
    response = api_for("editor").post(URL, s.campaign_body(ab_test=test), format="json")
    assert response.status_code == 400
    messages = [e["message"] for e in response.json()["error"]["fields"]["ab_test"]]
    assert messages == [f"Variant B: template {foreign.pk} is not one of this workspace's."]
    assert not Campaign.objects.exists()

    campaign = s.campaign()
    with pytest.raises(CampaignError, match="is not one of this workspace's"):
        ab_test_save(
            campaign=campaign,
            setup=AbTestSetup(
                kind="content",
                values=[],
                test_percent=20,
                criterion="opens",
                wait_hours=4,
                template_ids=[s.template.pk, foreign.pk],
            ),
        )
    assert not Variant.objects.exists()


def test_the_editor_saves_and_shows_content_variants(personas, editor_client):
    world = make_world(personas.workspace)
    second = TemplateFactory.create(workspace=personas.workspace, name="Second look")
    data = form_data(
        world,
        ab_enabled="on",
        ab_kind="content",
        ab_template_1=str(second.pk),
        ab_test_percent="30",
        ab_criterion="clicks",
        ab_wait_hours="4",
    )
    editor_client.post(reverse("campaigns:create"), data)
    campaign = Campaign.objects.get()
    assert campaign.ab_test.kind == "content"
    assert list(Variant.objects.values_list("position", "value", "template_id")) == [
        (0, "Welcome", None),
        (1, "Second look", second.pk),
    ]
    page = editor_client.get(reverse("campaigns:edit", kwargs={"campaign_id": campaign.pk}))
    assert f'<option value="{second.pk}" selected>Second look</option>' in page.content.decode()

    # The same template twice is one variant, not two.
    data["ab_template_1"] = str(world.template.pk)
    page = editor_client.post(reverse("campaigns:create"), data).content.decode()
    assert "Two variants have the same template." in page
    assert Campaign.objects.count() == 1


def test_the_api_takes_and_returns_the_template_of_each_variant(personas, api_for):
    s = stage(personas.workspace)
    second = TemplateFactory.create(workspace=personas.workspace, name="Second look")
    test = {"kind": "content", "template_ids": [s.template.pk, second.pk], "wait_hours": 2}
    response = api_for("editor").post(URL, s.campaign_body(ab_test=test), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()["ab_test"]
    assert body["variants"] == [
        {"variant": "A", "value": s.template.name, "template_id": s.template.pk},
        {"variant": "B", "value": "Second look", "template_id": second.pk},
    ]
    wrong_a = {"kind": "content", "template_ids": [second.pk, s.template.pk]}
    response = api_for("editor").post(URL, s.campaign_body(ab_test=wrong_a), format="json")
    assert response.status_code == 400
    messages = [e["message"] for e in response.json()["error"]["fields"]["ab_test"]]
    assert messages == ["Variant A is the campaign's own template: name it first."]


def test_links_of_a_later_variant_are_numbered_on():
    tracked_b = tracked_links.rewrite(
        '<a href="https://b.example/">B</a>', "", clicks=True, opens=False, first=3
    )
    assert tracked_b.html == '<a href="{_click}3">B</a>'
    assert [link.source for link in tracked_b.links] == ["https://b.example/"]


def test_the_report_names_each_variants_template(personas, smtp_sink, editor_client):
    setup, _ = content_test(personas, smtp_sink, n=4)
    campaign_start(campaign=setup.campaign)
    url = reverse("automation:ab_test", kwargs={"campaign_id": setup.campaign.pk})
    page = editor_client.get(url).content.decode()
    table = page[page.index('id="ab-variants"') :]
    assert "<th>Template</th>" in table
    row_b = table[table.index('id="variant-B"') :]
    assert "<td>Bold offer</td>" in row_b[: row_b.index("</tr>")]
    row_a = table[table.index('id="variant-A"') :]
    assert "<td>Hello</td>" in row_a[: row_a.index("</tr>")]


def test_variant_a_follows_the_campaigns_template(personas, api_for):
    s = stage(personas.workspace)
    second = TemplateFactory.create(workspace=personas.workspace, name="Second look")
    third = TemplateFactory.create(workspace=personas.workspace, name="Third way")
    api = api_for("editor")
    test = {"kind": "content", "template_ids": [s.template.pk, second.pk]}
    made = api.post(URL, s.campaign_body(ab_test=test), format="json").json()
    response = api.patch(f"{URL}{made['id']}/", {"template_id": third.pk}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["ab_test"]["variants"][0] == {
        "variant": "A",
        "value": "Third way",
        "template_id": third.pk,
    }
