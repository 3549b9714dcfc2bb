"""The A/B test through the campaign editor, its page and the API: validation said clearly,
the figures and verdict shown, the winner chosen by hand, user data escaped."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns.models import AbTestState, Campaign, CampaignStatus, Delivery, Variant
from campaigns.services import campaign_start
from campaigns.tests.api_setup import stage
from campaigns.tests.test_views_campaigns import form_data, make_world
from tracking.events import Fact, record
from tracking.models import EventKind, EventSource

pytestmark = pytest.mark.django_db

URL = "/api/campaigns/"


def ab_fields(values: str = "Spring sale\nLast chance", percent: str = "50", **more: str):
    return {
        "ab_enabled": "on",
        "ab_kind": "subject",
        "ab_values": values,
        "ab_test_percent": percent,
        "ab_criterion": "opens",
        "ab_wait_hours": "4",
    } | more


@pytest.mark.parametrize(
    ("values", "percent", "message"),
    [
        ("Only one", "20", "An A/B test needs 2 to 5 variants; this one has 1."),
        ("A\nB\nC\nD\nE\nF", "20", "An A/B test needs 2 to 5 variants; this one has 6."),
        ("A\nB", "0", "The test share must be between 1 and 99 % of the audience (it is 0 %)."),
        ("A\nB", "100", "The test share must be between 1 and 99 % of the audience (it is 100 %)."),
        ("Same\nSame", "20", "Two variants are the same."),
    ],
)
def test_the_editor_says_what_is_wrong_with_the_test(
    personas, editor_client, values, percent, message
):
    world = make_world(personas.workspace)
    data = form_data(world, **ab_fields(values, percent))
    response = editor_client.post(reverse("campaigns:create"), data)
    assert response.status_code == 200
    page = response.content.decode()
    assert message in page
    fieldset = page[page.index('id="ab-test-fields"') :]
    assert message in fieldset  # shown by its field, not somewhere at the top
    assert not Campaign.objects.exists()


def test_the_editor_saves_shows_and_removes_a_test(personas, editor_client):
    world = make_world(personas.workspace)
    editor_client.post(reverse("campaigns:create"), form_data(world, **ab_fields()))
    campaign = Campaign.objects.get()
    assert list(Variant.objects.values_list("value", flat=True)) == ["Spring sale", "Last chance"]
    assert campaign.ab_test.test_percent == 50
    edit = reverse("campaigns:edit", kwargs={"campaign_id": campaign.pk})
    page = editor_client.get(edit).content.decode()
    assert "Spring sale\nLast chance</textarea>" in page
    editor_client.post(edit, form_data(world))  # the box unticked: no test
    assert not Variant.objects.exists()


def test_the_api_refuses_bad_tests_under_ab_test(personas, api_for):
    s = stage(personas.workspace)
    api = api_for("editor")
    test = {"kind": "subject", "variants": ["One"], "test_percent": 100}
    response = api.post(URL, s.campaign_body(ab_test=test), format="json")
    assert response.status_code == 400
    messages = [e["message"] for e in response.json()["error"]["fields"]["ab_test"]]
    assert messages == [
        "An A/B test needs 2 to 5 variants; this one has 1.",
        "The test share must be between 1 and 99 % of the audience (it is 100 %).",
    ]
    assert not Campaign.objects.exists()


def test_the_api_makes_a_test_shows_its_figures_and_chooses_by_hand(personas, api_for):
    s = stage(personas.workspace, n=10)
    api = api_for("editor")
    test = {"kind": "subject", "variants": ["Spring sale", "Last chance"], "test_percent": 40}
    made = api.post(URL, s.campaign_body(ab_test=test), format="json").json()
    assert made["ab_test"]["variants"] == [
        {"variant": "A", "value": "Spring sale", "template_id": None},
        {"variant": "B", "value": "Last chance", "template_id": None},
    ]
    assert made["ab_test"]["state"] == AbTestState.PLANNED
    campaign = Campaign.objects.get(pk=made["id"])
    campaign_start(campaign=campaign)
    assert Delivery.objects.count() == 4
    Delivery.objects.update(sent_at=timezone.now())
    opened = Delivery.objects.filter(variant__position=1).order_by("pk").first()
    record(Fact(kind=EventKind.OPENED, source=EventSource.LINK), delivery=opened)

    report = api.get(f"{URL}{campaign.pk}/ab-test/").json()
    assert [(v["variant"], v["sent"], v["people"]) for v in report["variants"]] == [
        ("A", 2, 0),
        ("B", 2, 1),
    ]
    assert report["leader"] == "B"
    assert report["significant"] is False
    assert "could be chance" in report["verdict"]

    viewer = api_for("viewer").post(f"{URL}{campaign.pk}/ab-test/choose/", {"variant": "A"})
    assert viewer.status_code == 403
    chosen = api.post(f"{URL}{campaign.pk}/ab-test/choose/", {"variant": "A"}, format="json")
    assert chosen.json() == {"winner": "A", "created": 6}
    again = api.post(f"{URL}{campaign.pk}/ab-test/choose/", {"variant": "B"}, format="json")
    assert again.status_code == 400
    assert "chosen already" in str(again.json())
    body = api.get(f"{URL}{campaign.pk}/").json()["ab_test"]
    assert (body["state"], body["winner"], body["decided_by_hand"]) == ("decided", "A", True)


def test_the_page_shows_figures_and_the_button_chooses(personas, owner_client, viewer_client):
    world = make_world(personas.workspace, n=8)
    owner_client.post(reverse("campaigns:create"), form_data(world, **ab_fields()))
    campaign = Campaign.objects.get()
    campaign_start(campaign=campaign)
    url = reverse("automation:ab_test", kwargs={"campaign_id": campaign.pk})
    page = owner_client.get(url).content.decode()
    assert "Spring sale" in page
    assert "Send B to the rest now" in page
    assert "Send B to the rest now" not in viewer_client.get(url).content.decode()
    detail = owner_client.get(reverse("campaigns:detail", kwargs={"campaign_id": campaign.pk}))
    assert url in detail.content.decode()

    choose = reverse("automation:ab_test_choose", kwargs={"campaign_id": campaign.pk})
    assert viewer_client.post(choose, {"position": "1"}).status_code == 403
    # First the question: what the choice does, and that the figures do not favour it yet.
    asked = owner_client.post(choose, {"position": "1"}).content.decode()
    assert "Send variant B to the rest now?" in asked
    assert "cannot be taken back" in asked
    assert "do not show yet that one variant is better" in asked
    campaign.ab_test.refresh_from_db()
    assert campaign.ab_test.winner is None  # the question changes nothing
    page = owner_client.post(
        choose, {"position": "1", "confirmed": "yes"}, follow=True
    ).content.decode()
    assert "Winner chosen" in page
    assert "was chosen by hand" in page
    campaign.refresh_from_db()
    winner = campaign.ab_test.winner
    assert winner is not None
    assert winner.label == "B"
    assert campaign.status == CampaignStatus.RUNNING
    assert (
        Delivery.objects.filter(variant__position=1).count()
        > Delivery.objects.filter(variant__position=0).count()
    )


def test_variant_values_are_escaped(personas, owner_client):
    world = make_world(personas.workspace)
    planted = '<b hx-get="/evil">x</b>'
    owner_client.post(reverse("campaigns:create"), form_data(world, **ab_fields(f"{planted}\nB")))
    campaign = Campaign.objects.get()
    url = reverse("automation:ab_test", kwargs={"campaign_id": campaign.pk})
    for page in (
        owner_client.get(url),
        owner_client.get(reverse("campaigns:edit", kwargs={"campaign_id": campaign.pk})),
    ):
        body = page.content.decode()
        assert planted not in body
        assert "&lt;b hx-get=&quot;/evil&quot;&gt;" in body


def test_the_test_page_and_editor_speak_russian(personas, owner_client):
    world = make_world(personas.workspace, n=8)
    owner_client.post(reverse("campaigns:create"), form_data(world, **ab_fields()))
    campaign = Campaign.objects.get()
    campaign_start(campaign=campaign)
    russian = {"Accept-Language": "ru"}
    url = reverse("automation:ab_test", kwargs={"campaign_id": campaign.pk})
    page = owner_client.get(url, headers=russian).content.decode()
    for words in ("A/B-тест", "Что меняется: Тема", "Уникальных открытий", "Идёт тест"):
        assert words in page
    for words in ("What varies", "Testing:", "Send B to the rest now", "Unique opens"):
        assert words not in page
    wrong = form_data(world, **ab_fields("Одна", "100"))
    form = owner_client.post(reverse("campaigns:create"), wrong, headers=russian).content.decode()
    assert "Для A/B-теста нужно от 2 до 5 вариантов; здесь 1 вариант." in form
    assert "Тестовая доля должна быть от 1 до 99 % аудитории (сейчас 100 %)." in form
    assert "Сначала проверить варианты (A/B-тест)" in form


def test_the_wait_must_end_within_the_lifetime(personas, editor_client):
    world = make_world(personas.workspace)
    data = form_data(world, lifetime_days="2", **ab_fields(ab_wait_hours="48"))
    page = editor_client.post(reverse("campaigns:create"), data).content.decode()
    assert "The wait must end before the campaign gives up (its lifetime)." in page
    assert not Campaign.objects.exists()
