"""The campaign pages through HTTP: create, edit, audience figures, actions by role, report."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from audience.models import Recipient, RecipientList, RecipientStatus, Suppression
from audience.selectors import RecipientFilter
from audience.tests.factories import RecipientListFactory
from campaigns.engine.step import Engine
from campaigns.models import Campaign, CampaignStatus, Delivery, DeliveryStatus
from campaigns.services import campaigns_launch_queued
from content.models import Template
from sending.models import AccountKind, AccountStatus, SendingAccount

pytestmark = pytest.mark.django_db


@dataclass
class World:
    template: Template
    broken: Template
    lists: list[RecipientList]
    account: SendingAccount
    people: list[Recipient]


def make_world(workspace: Any, n: int = 4) -> World:
    """Recipients in two overlapping lists (one duplicate), one unsubscribed, one suppressed."""
    people = Recipient.objects.bulk_create(
        [
            Recipient(workspace=workspace, email=f"r{i}@example.test", first_name=f"R{i}")
            for i in range(n)
        ]
    )
    first = RecipientListFactory.create(workspace=workspace, name="First", members=people)
    second = RecipientListFactory.create(workspace=workspace, name="Second", members=people[:1])
    template = Template.objects.create(
        workspace=workspace,
        name="Welcome",
        subject="Hello {first_name}",
        html_body='<p>Hi {first_name|there}</p><a href="{unsubscribe_url}">Unsubscribe</a>',
        text_body="Hi {first_name|there}\n{unsubscribe_url}",
    )
    broken = Template.objects.create(
        workspace=workspace, name="Broken", subject="Hi {no_such_field}", text_body="x"
    )
    account = SendingAccount.objects.create(
        workspace=workspace,
        name="Capture",
        from_email="news@example.com",
        kind=AccountKind.CAPTURE,
        status=AccountStatus.ACTIVE,
        daily_limit=1000,
        min_interval_seconds=0,
    )
    return World(template, broken, [first, second], account, people)


def form_data(world: World, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "Spring news",
        "template": world.template.pk,
        "lists": [rl.pk for rl in world.lists],
        "accounts": [world.account.pk],
        "schedule_mode": "now",
        "scheduled_at": "",
        "window_end": "",
    }
    data.update(overrides)
    return data


def run_engine(rounds: int = 20) -> None:
    engine = Engine()
    for _ in range(rounds):
        if not engine.step():
            return


def test_the_owner_creates_a_draft_and_sees_who_it_will_reach(personas, owner_client):
    world = make_world(personas.workspace)
    world.people[1].status = RecipientStatus.UNSUBSCRIBED
    world.people[1].save()
    Suppression.objects.create(workspace=personas.workspace, email="r2@example.test")

    response = owner_client.post(reverse("campaigns:create"), form_data(world))

    campaign = Campaign.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("campaigns:detail", kwargs={"campaign_id": campaign.pk})
    assert campaign.status == CampaignStatus.DRAFT
    assert campaign.template_id == world.template.pk
    assert campaign.created_by == personas.owner
    page = owner_client.get(response["Location"]).content.decode()
    assert 'data-count="reachable">2<' in page
    assert 'data-count="suppressed">1<' in page
    assert 'data-count="unsubscribed">1<' in page
    assert 'data-count="duplicates">1<' in page
    assert 'data-action="start"' in page


BAD_INPUTS = [
    ({"template": ""}, "Choose a template."),
    ({"accounts": []}, "Choose at least one active sending account."),
    ({"lists": []}, "Choose who receives it"),
    ({"schedule_mode": "at", "scheduled_at": ""}, "Choose when to send."),
    ({"schedule_mode": "at", "scheduled_at": "2001-01-01T10:00"}, "This time is in the past."),
    (
        {
            "schedule_mode": "window",
            "scheduled_at": "2099-01-02T10:00",
            "window_end": "2099-01-01T10:00",
        },
        "The window must end after it starts.",
    ),
    (
        {"schedule_mode": "window", "scheduled_at": "2099-01-02T10:00", "window_end": ""},
        "Choose when the window ends.",
    ),
    ({"scheduled_at": "not a date", "schedule_mode": "at"}, "Enter a date and time."),
    ({"lifetime_days": "0"}, "Ensure this value is greater than or equal to 1."),
    ({"lifetime_days": "31"}, "Ensure this value is less than or equal to 30."),
]


@pytest.mark.parametrize(("overrides", "message"), BAD_INPUTS)
def test_bad_input_is_refused_with_its_message(personas, editor_client, overrides, message):
    world = make_world(personas.workspace)
    response = editor_client.post(reverse("campaigns:create"), form_data(world, **overrides))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Campaign.objects.exists()


def test_a_template_with_an_error_is_refused(personas, editor_client):
    world = make_world(personas.workspace)
    data = form_data(world, template=world.broken.pk)
    page = editor_client.post(reverse("campaigns:create"), data).content.decode()
    assert "The template “Broken” has an error" in page
    assert not Campaign.objects.exists()


def test_accounts_and_lists_of_another_workspace_cannot_be_chosen(personas, owner_client):
    world = make_world(personas.workspace)
    foreign = make_world(personas.other_workspace)
    data = form_data(world, accounts=[foreign.account.pk], lists=[foreign.lists[0].pk])
    page = owner_client.post(reverse("campaigns:create"), data).content.decode()
    assert "is not one of the available choices" in page
    assert not Campaign.objects.exists()


def test_a_campaign_is_started_sent_and_reported(personas, editor_client):
    world = make_world(personas.workspace)
    editor_client.post(reverse("campaigns:create"), form_data(world))
    campaign = Campaign.objects.get()
    detail = reverse("campaigns:detail", kwargs={"campaign_id": campaign.pk})

    response = editor_client.post(reverse("campaigns:start", kwargs={"campaign_id": campaign.pk}))
    assert response["Location"] == detail
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.LAUNCHING
    campaigns_launch_queued(now=timezone.now())  # the worker's launch
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.RUNNING
    progress = editor_client.get(
        reverse("campaigns:progress", kwargs={"campaign_id": campaign.pk}), HTTP_HX_REQUEST="true"
    )
    assert 'hx-trigger="every 3s"' in progress.content.decode()
    assert 'data-count="queued">4<' in progress.content.decode()

    run_engine()

    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.COMPLETED
    progress = editor_client.get(
        reverse("campaigns:progress", kwargs={"campaign_id": campaign.pk}), HTTP_HX_REQUEST="true"
    )
    assert progress["HX-Refresh"] == "true"
    page = editor_client.get(detail).content.decode()
    assert 'data-count="sent">4<' in page
    assert "r3@example.test" in page
    assert "Capture" in page  # the account of each delivery


def test_scheduling_pausing_resuming_and_cancelling_with_flash_messages(personas, owner_client):
    world = make_world(personas.workspace)
    at = (timezone.now() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    owner_client.post(
        reverse("campaigns:create"), form_data(world, schedule_mode="at", scheduled_at=at)
    )
    campaign = Campaign.objects.get()

    def act(action: str) -> str:
        url = reverse(f"campaigns:{action}", kwargs={"campaign_id": campaign.pk})
        return str(owner_client.post(url, follow=True).content.decode())

    assert "Campaign scheduled" in act("start")
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SCHEDULED
    page = owner_client.get(reverse("campaigns:detail", kwargs={"campaign_id": campaign.pk}))
    assert 'data-action="unschedule"' in page.content.decode()
    assert 'data-action="pause"' not in page.content.decode()
    assert "A scheduled campaign cannot be resumed." in act("resume")
    assert "Back to draft." in act("unschedule")
    assert "Campaign scheduled" in act("start")  # a draft in "at" mode schedules again
    act("unschedule")
    campaign.schedule_mode = "now"
    campaign.save()
    assert "Campaign started." in act("start")
    campaigns_launch_queued(now=timezone.now())
    assert "Campaign paused." in act("pause")
    assert Campaign.objects.get().status == CampaignStatus.PAUSED
    assert "Campaign resumed." in act("resume")
    assert "Campaign cancelled." in str(
        owner_client.post(
            reverse("campaigns:cancel", kwargs={"campaign_id": campaign.pk}),
            {"confirmed": "yes"},
            follow=True,
        ).content.decode()
    )
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.CANCELLED}
    assert "A cancelled campaign cannot be paused." in act("pause")


def test_only_draft_and_scheduled_campaigns_can_be_edited(personas, owner_client):
    world = make_world(personas.workspace)
    owner_client.post(reverse("campaigns:create"), form_data(world))
    campaign = Campaign.objects.get()
    edit = reverse("campaigns:edit", kwargs={"campaign_id": campaign.pk})
    assert 'value="Spring news"' in owner_client.get(edit).content.decode()
    owner_client.post(edit, form_data(world, name="Renamed", lists=[world.lists[1].pk]))
    campaign.refresh_from_db()
    assert campaign.name == "Renamed"
    assert list(campaign.lists.all()) == [world.lists[1]]

    owner_client.post(reverse("campaigns:start", kwargs={"campaign_id": campaign.pk}))
    page = owner_client.get(edit, follow=True).content.decode()
    assert "Only draft and scheduled campaigns can be changed." in page


def test_viewers_see_but_get_no_buttons_and_403_on_writes(personas, owner_client, viewer_client):
    world = make_world(personas.workspace)
    owner_client.post(reverse("campaigns:create"), form_data(world))
    campaign = Campaign.objects.get()
    kwargs = {"campaign_id": campaign.pk}

    page = viewer_client.get(reverse("campaigns:detail", kwargs=kwargs)).content.decode()
    assert "Spring news" in page
    assert "data-action=" not in page
    index = viewer_client.get(reverse("campaigns:index")).content.decode()
    assert "Spring news" in index
    assert reverse("campaigns:create") not in index
    for name in ("start", "pause", "resume", "cancel", "unschedule", "delete"):
        assert viewer_client.post(reverse(f"campaigns:{name}", kwargs=kwargs)).status_code == 403
    assert viewer_client.post(reverse("campaigns:create"), form_data(world)).status_code == 403
    assert viewer_client.post(reverse("campaigns:edit", kwargs=kwargs), {}).status_code == 403
    assert Campaign.objects.get().status == CampaignStatus.DRAFT


def test_recipients_picked_from_the_filtered_table(personas, owner_client):
    world = make_world(personas.workspace)
    page = owner_client.get(reverse("campaigns:create") + "?q=r1%40").content.decode()
    assert "Picked from the recipients table: <strong>1</strong> recipient." in page
    picked = json.dumps(RecipientFilter(q="r1@").as_params())
    owner_client.post(reverse("campaigns:create"), form_data(world, lists=[], picked=picked))
    campaign = Campaign.objects.get()
    assert campaign.picked["q"] == "r1@"
    owner_client.post(reverse("campaigns:start", kwargs={"campaign_id": campaign.pk}))
    campaigns_launch_queued(now=timezone.now())
    assert list(Delivery.objects.values_list("email", flat=True)) == ["r1@example.test"]


def test_ticked_rows_are_picked_by_id(personas, owner_client):
    world = make_world(personas.workspace)
    ids = [world.people[0].pk, world.people[3].pk]
    url = reverse("campaigns:create") + f"?ids={ids[0]}&ids={ids[1]}"
    page = owner_client.get(url).content.decode()
    assert "<strong>2</strong> recipients" in page


def test_a_campaign_is_deleted_unless_it_is_sending(personas, owner_client):
    world = make_world(personas.workspace)
    owner_client.post(reverse("campaigns:create"), form_data(world))
    campaign = Campaign.objects.get()
    kwargs = {"campaign_id": campaign.pk}
    owner_client.post(reverse("campaigns:start", kwargs=kwargs))
    page = owner_client.post(reverse("campaigns:delete", kwargs=kwargs), follow=True)
    assert "Cancel the campaign before deleting it." in page.content.decode()
    owner_client.post(reverse("campaigns:cancel", kwargs=kwargs), {"confirmed": "yes"})
    response = owner_client.post(reverse("campaigns:delete", kwargs=kwargs), {"confirmed": "yes"})
    assert response["Location"] == reverse("campaigns:index")
    assert not Campaign.objects.exists()


def test_the_list_shows_progress(personas, owner_client):
    world = make_world(personas.workspace)
    owner_client.post(reverse("campaigns:create"), form_data(world))
    campaign = Campaign.objects.get()
    owner_client.post(reverse("campaigns:start", kwargs={"campaign_id": campaign.pk}))
    run_engine()
    page = owner_client.get(reverse("campaigns:index")).content.decode()
    assert "4 of 4" in page
    assert 'data-status="completed"' in page


def test_the_list_is_paged_by_keyset(personas, owner_client, django_assert_max_num_queries):
    now = timezone.now()
    Campaign.objects.bulk_create(
        [
            Campaign(
                workspace=personas.workspace, name=f"C{i:03}", created_at=now - timedelta(minutes=i)
            )
            for i in range(60)
        ]
    )
    first = owner_client.get(reverse("campaigns:index")).content.decode()
    assert "C000" in first
    assert "C050" not in first
    cursor = first.split("?after=")[1].split('"')[0]
    with django_assert_max_num_queries(12):
        second = owner_client.get(reverse("campaigns:index") + f"?after={cursor}").content.decode()
    assert "C050" in second
    assert "C049" not in second


def test_the_editor_previews_the_audience_before_saving(personas, viewer_client):
    world = make_world(personas.workspace)
    foreign = make_world(personas.other_workspace)
    Suppression.objects.create(workspace=personas.workspace, email="r2@example.test")
    url = reverse("campaigns:audience_preview")

    page = viewer_client.get(url, {"lists": [rl.pk for rl in world.lists]}).content.decode()
    assert 'data-count="reachable">3<' in page
    assert 'data-count="suppressed">1<' in page
    assert 'data-count="duplicates">1<' in page
    picked = json.dumps(RecipientFilter(q="r3@").as_params())
    page = viewer_client.get(url, {"picked": picked}).content.decode()
    assert 'data-count="reachable">1<' in page
    page = viewer_client.get(url, {"picked": picked, "drop_picked": "on"}).content.decode()
    assert 'data-count="reachable">0<' in page
    page = viewer_client.get(url, {"lists": [foreign.lists[0].pk]}).content.decode()
    assert 'data-count="reachable">0<' in page


def test_a_broken_picked_value_is_refused_not_crashed(personas, owner_client):
    world = make_world(personas.workspace)
    for picked in ("{broken", "[1, 2]"):
        data = form_data(world, picked=picked)
        page = owner_client.post(reverse("campaigns:create"), data).content.decode()
        assert "The picked recipients could not be read." in page
        preview = owner_client.get(reverse("campaigns:audience_preview"), {"picked": picked})
        assert preview.status_code == 200
    assert not Campaign.objects.exists()


def test_times_are_typed_and_shown_in_the_workspace_time_zone(personas, owner_client):
    personas.workspace.time_zone = "Europe/Berlin"
    personas.workspace.save()
    world = make_world(personas.workspace)
    data = form_data(
        world,
        schedule_mode="window",
        scheduled_at="2099-07-01T09:00",
        window_end="2099-07-01T17:30",
    )
    owner_client.post(reverse("campaigns:create"), data)
    campaign = Campaign.objects.get()
    assert campaign.scheduled_at is not None
    assert campaign.window_end is not None
    assert campaign.scheduled_at.isoformat() == "2099-07-01T07:00:00+00:00"  # CEST is UTC+2
    assert campaign.window_end.isoformat() == "2099-07-01T15:30:00+00:00"
    page = owner_client.get(reverse("campaigns:detail", kwargs={"campaign_id": campaign.pk}))
    assert "between 2099-07-01 09:00 and 2099-07-01 17:30 (Europe/Berlin)" in page.content.decode()
    edit = owner_client.get(reverse("campaigns:edit", kwargs={"campaign_id": campaign.pk}))
    assert 'value="2099-07-01T09:00"' in edit.content.decode()


def test_the_lifetime_is_chosen_in_days_and_shown_again(personas, editor_client):
    world = make_world(personas.workspace)
    editor_client.post(reverse("campaigns:create"), form_data(world, lifetime_days="7"))
    campaign = Campaign.objects.get()
    assert campaign.lifetime_seconds == 7 * 24 * 3600
    page = editor_client.get(reverse("campaigns:edit", kwargs={"campaign_id": campaign.pk}))
    assert 'name="lifetime_days" value="7"' in page.content.decode()
