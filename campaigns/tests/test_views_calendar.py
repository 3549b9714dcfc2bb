"""The campaign calendar's pages: month and week in both languages, moving a scheduled campaign
by its form and by the drag's JSON request, and what is refused."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from campaigns import editing
from campaigns.models import Campaign, CampaignStatus, ScheduleMode
from campaigns.tests.test_views_campaigns import make_world
from core.testing.russian import RUSSIAN, assert_russian

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)  # a Wednesday
JSON = {"HTTP_ACCEPT": "application/json"}


@pytest.fixture
def moscow(personas, time_machine):
    time_machine.move_to(NOW, tick=False)
    personas.workspace.time_zone = "Europe/Moscow"
    personas.workspace.save(update_fields=["time_zone"])
    return personas.workspace


def schedule(workspace, at: datetime, name: str = "Winter news", **fields) -> Campaign:
    world = make_world(workspace) if not workspace.templates.exists() else None
    template = world.template if world else workspace.templates.get(name="Welcome")
    account = world.account if world else workspace.sending_accounts.get()
    data = editing.CampaignData(
        name=name,
        template_id=template.pk,
        account_ids=[account.pk],
        list_ids=list(workspace.lists.values_list("pk", flat=True)),
        schedule_mode=ScheduleMode.AT,
        scheduled_at=at,
        **fields,
    )
    campaign = editing.campaign_create(workspace=workspace, user=None, data=data)
    assert editing.campaign_start_as_planned(campaign=campaign) == CampaignStatus.SCHEDULED
    return campaign


def cell(html: str, day: str) -> str:
    """The markup of one day's cell of the grid."""
    match = re.search(rf'data-day="{day}".*?</td>', html, flags=re.DOTALL)
    assert match, f"no cell for {day}"
    return match.group(0)


def move_url(campaign: Campaign) -> str:
    return reverse("campaigns:reschedule", kwargs={"campaign_id": campaign.pk})


def test_the_month_in_english_starts_on_sunday_and_places_campaigns_on_moscow_days(
    moscow, viewer_client
):
    schedule(moscow, datetime(2026, 12, 9, 23, 30, tzinfo=UTC), name="Late letter")
    html = viewer_client.get(reverse("campaigns:calendar")).content.decode()
    assert "December 2026" in html
    headers = re.findall(r'<th scope="col"[^>]*>([^<]+)</th>', html)
    assert headers == ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    assert 'data-day="2026-11-29"' in html  # leading days of November
    assert 'data-day="2027-01-02"' in html  # trailing days of January
    assert "Late letter" in cell(html, "2026-12-10")  # 02:30 in Moscow
    assert "02:30" in cell(html, "2026-12-10")
    assert "Late letter" not in cell(html, "2026-12-09")
    assert "draggable" not in html  # a viewer cannot move anything
    assert 'href="/campaigns/calendar/' in html


def test_the_month_in_russian_starts_on_monday_with_russian_names(moscow, viewer_client):
    schedule(moscow, datetime(2026, 12, 9, 9, 0, tzinfo=UTC), name="Зимняя рассылка")
    response = viewer_client.get(reverse("campaigns:calendar"), headers=RUSSIAN)
    text = assert_russian(
        response,
        ["Календарь", "Декабрь 2026", "Сегодня", "Следующий месяц", "Предыдущий месяц", "Неделя"],
        ["Calendar", "December", "Today", "Next month", "Week"],
    )
    headers = re.findall(r'<th scope="col"[^>]*>([^<]+)</th>', response.content.decode())
    assert headers == ["Пн", "Вт", "Ср", "Чт", "Пт", "Сб", "Вс"]
    assert "Зимняя рассылка" in text


def test_the_week_view_and_its_navigation(moscow, viewer_client):
    schedule(moscow, datetime(2026, 12, 4, 8, 0, tzinfo=UTC), name="Friday letter")
    url = reverse("campaigns:calendar") + "?view=week&day=2026-12-02"
    html = viewer_client.get(url, headers=RUSSIAN).content.decode()
    days = re.findall(r'<td[^>]*data-day="([0-9-]+)"', html)
    assert days == ["2026-11-30", *[f"2026-12-0{d}" for d in range(1, 7)]]
    assert "Friday letter" in cell(html, "2026-12-04")
    assert "?view=week&amp;day=2026-11-25" in html  # the previous week
    assert "?view=week&amp;day=2026-12-09" in html  # the next week


def test_a_month_far_away_is_reached_by_its_day_and_shows_nothing_else(moscow, viewer_client):
    schedule(moscow, datetime(2026, 12, 9, 9, 0, tzinfo=UTC), name="December letter")
    html = viewer_client.get(reverse("campaigns:calendar") + "?day=2027-03-15").content.decode()
    assert "March 2027" in html
    assert "December letter" not in html
    assert "?view=month&amp;day=2027-02-01" in html
    assert "?view=month&amp;day=2027-04-01" in html


def test_htmx_gets_the_calendar_part_alone(moscow, viewer_client):
    response = viewer_client.get(reverse("campaigns:calendar"), headers={"HX-Request": "true"})
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="calendar"')
    assert "<html" not in html


def test_finished_campaigns_are_shown_greyed_and_cannot_be_moved(moscow, editor_client):
    done = schedule(moscow, datetime(2026, 12, 9, 9, 0, tzinfo=UTC), name="Old letter")
    Campaign.objects.filter(pk=done.pk).update(
        status=CampaignStatus.COMPLETED, launched_at=datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    )
    waiting = schedule(moscow, datetime(2026, 12, 9, 9, 0, tzinfo=UTC), name="Next letter")
    html = editor_client.get(reverse("campaigns:calendar")).content.decode()
    old = cell(html, "2026-12-01")
    assert "Old letter" in old
    assert "border-dashed" in old  # greyed, with a contrast the text keeps
    assert "draggable" not in old
    upcoming = cell(html, "2026-12-09")
    assert 'draggable="true"' in upcoming
    assert f'data-move-url="{move_url(waiting)}"' in upcoming
    assert 'data-time="12:00"' in upcoming  # 09:00 UTC on Moscow's wall clock


def test_moving_by_the_form_keeps_the_workspaces_zone(moscow, editor_client):
    campaign = schedule(moscow, datetime(2026, 12, 9, 9, 0, tzinfo=UTC))
    page = editor_client.get(move_url(campaign)).content.decode()
    assert 'value="2026-12-09"' in page
    assert 'value="12:00"' in page
    assert 'href="/campaigns/calendar/?view=month&amp;day=2026-12-09"' in page  # back
    response = editor_client.post(move_url(campaign), {"date": "2026-12-15", "time": "01:30"})
    assert response.status_code == 302
    assert response["Location"].endswith("?view=month&day=2026-12-15")
    campaign.refresh_from_db()
    assert campaign.scheduled_at == datetime(2026, 12, 14, 22, 30, tzinfo=UTC)
    assert campaign.status == CampaignStatus.SCHEDULED


def test_moving_by_drag_answers_json(moscow, editor_client):
    campaign = schedule(moscow, datetime(2026, 12, 9, 9, 0, tzinfo=UTC))
    response = editor_client.post(
        move_url(campaign), {"date": "2026-12-11", "time": "12:00"}, **JSON
    )
    assert response.status_code == 200
    assert response.json() == {"ok": True}
    campaign.refresh_from_db()
    assert campaign.scheduled_at == datetime(2026, 12, 11, 9, 0, tzinfo=UTC)


def test_a_window_keeps_its_length_when_moved(moscow, editor_client):
    start = datetime(2026, 12, 9, 9, 0, tzinfo=UTC)
    campaign = schedule(moscow, start)
    Campaign.objects.filter(pk=campaign.pk).update(
        schedule_mode=ScheduleMode.WINDOW, window_end=start + timedelta(hours=5)
    )
    editor_client.post(move_url(campaign), {"date": "2026-12-12", "time": "12:00"}, **JSON)
    campaign.refresh_from_db()
    assert campaign.scheduled_at == datetime(2026, 12, 12, 9, 0, tzinfo=UTC)
    assert campaign.window_end == datetime(2026, 12, 12, 14, 0, tzinfo=UTC)


def test_a_running_campaign_is_not_moved(moscow, editor_client):
    campaign = schedule(moscow, datetime(2026, 12, 9, 9, 0, tzinfo=UTC))
    Campaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.RUNNING)
    response = editor_client.post(
        move_url(campaign), {"date": "2026-12-11", "time": "12:00"}, **JSON
    )
    assert response.status_code == 400
    assert response.json() == {
        "error": "Only a scheduled campaign can be moved; this one is running."
    }
    ru = editor_client.post(
        move_url(campaign), {"date": "2026-12-11", "time": "12:00"}, headers=RUSSIAN, **JSON
    )
    assert "Переносить можно только запланированную кампанию" in ru.json()["error"]
    campaign.refresh_from_db()
    assert campaign.scheduled_at == datetime(2026, 12, 9, 9, 0, tzinfo=UTC)


def test_a_past_time_is_refused_by_form_and_by_drag(moscow, editor_client):
    campaign = schedule(moscow, datetime(2026, 12, 9, 9, 0, tzinfo=UTC))
    # 12:30 on the 2nd in Moscow is 09:30 UTC: half an hour before now.
    past = {"date": "2026-12-02", "time": "12:30"}
    answer = editor_client.post(move_url(campaign), past, **JSON)
    assert answer.status_code == 400
    assert answer.json() == {"error": "Choose a time in the future."}
    page = editor_client.post(move_url(campaign), past, headers=RUSSIAN)
    assert page.status_code == 400
    assert "Выберите время в будущем." in page.content.decode()
    campaign.refresh_from_db()
    assert campaign.scheduled_at == datetime(2026, 12, 9, 9, 0, tzinfo=UTC)


def test_a_campaign_the_form_would_refuse_is_refused_here_too(moscow, editor_client):
    campaign = schedule(moscow, datetime(2026, 12, 9, 9, 0, tzinfo=UTC))
    moscow.sending_accounts.update(status="inactive")
    answer = editor_client.post(move_url(campaign), {"date": "2026-12-11", "time": "12:00"}, **JSON)
    assert answer.status_code == 400
    assert answer.json() == {"error": "Choose at least one active sending account."}


def test_a_viewer_cannot_move_a_campaign(moscow, viewer_client):
    campaign = schedule(moscow, datetime(2026, 12, 9, 9, 0, tzinfo=UTC))
    assert viewer_client.get(move_url(campaign)).status_code == 403
    response = viewer_client.post(move_url(campaign), {"date": "2026-12-11", "time": "12:00"})
    assert response.status_code == 403
    campaign.refresh_from_db()
    assert campaign.scheduled_at == datetime(2026, 12, 9, 9, 0, tzinfo=UTC)


def test_another_workspaces_campaign_is_not_found(moscow, personas, outsider_client):
    campaign = schedule(moscow, datetime(2026, 12, 9, 9, 0, tzinfo=UTC))
    response = outsider_client.post(
        move_url(campaign), {"date": "2026-12-11", "time": "12:00"}, **JSON
    )
    assert response.status_code == 404
    campaign.refresh_from_db()
    assert campaign.scheduled_at == datetime(2026, 12, 9, 9, 0, tzinfo=UTC)
    page = outsider_client.get(reverse("campaigns:calendar") + "?day=2026-12-09")
    assert "Winter news" not in page.content.decode()


def test_a_campaign_name_with_markup_is_escaped(moscow, editor_client):
    name = '<b hx-get="/accounts/logout/">Bold</b>'
    campaign = schedule(moscow, datetime(2026, 12, 9, 9, 0, tzinfo=UTC), name=name)
    html = editor_client.get(reverse("campaigns:calendar")).content.decode()
    assert name not in html
    assert "&lt;b hx-get=&quot;/accounts/logout/&quot;&gt;Bold&lt;/b&gt;" in html
    form = editor_client.get(move_url(campaign)).content.decode()
    assert name not in form
    assert "&lt;b hx-get" in form
