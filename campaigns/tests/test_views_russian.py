"""The campaign pages render in Russian: the form, single e-mails, the logs, the report and the
replies show their headings, labels, choices and buttons in Russian, with no English left."""

from __future__ import annotations

import pytest
from django.test import Client

from audience.tests.factories import RecipientFactory, RecipientListFactory
from campaigns.models import Attempt, AttemptOutcome, DeliveryStatus
from campaigns.tests.factories import CampaignFactory, DeliveryFactory
from content.models import Template
from content.tests.factories import TemplateFactory
from core.testing.russian import RUSSIAN, assert_russian
from sending.models import SendingAccount
from sending.tests.factories import SendingAccountFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(personas):
    workspace = personas.workspace
    reader = RecipientFactory.create(workspace=workspace, email="reader@example.test")
    TemplateFactory.create(workspace=workspace, name="Newsletter")
    account = SendingAccountFactory.create(workspace=workspace, name="Main account")
    campaign = CampaignFactory.create(workspace=workspace, name="Spring sale", bare=True)
    delivery = DeliveryFactory.create(
        campaign=CampaignFactory.create(workspace=workspace, name="One", is_single=True, bare=True),
        recipient=reader,
        status=DeliveryStatus.QUEUED,
    )
    Attempt.objects.create(
        workspace=workspace,
        campaign=campaign,
        delivery=delivery,
        account=account,
        email="reader@example.test",
        outcome=AttemptOutcome.TEMPORARY,
        smtp_code=451,
        reply="try later",
    )
    return campaign


@pytest.mark.parametrize(
    ("path", "russian", "english"),
    [
        (
            "/campaigns/new/",
            [
                "Новая кампания",
                "Аудитория",
                "Расписание",
                "Аккаунты отправки",
                "Шаблон",
                "Выберите шаблон",
                "Отправить в заданные дату и время",
                "Сохранить черновик",
                "Назад",
                "Все из списков",
            ],
            [
                "New campaign",
                "Audience",
                "Schedule",
                "Sending accounts",
                "Choose a template",
                "Send at",
                "Save draft",
                "Back",
                "Everyone in",
            ],
        ),
        (
            "/campaigns/{id}/edit/",
            ["Изменить «Spring sale»", "Аудитория", "Сохранить черновик"],
            ["Edit", "Audience", "Save draft"],
        ),
        (
            "/emails/",
            [
                "Очередь писем",
                "Поставить письмо в очередь",
                "Получатель",
                "Следующая попытка",
                "Отправить сейчас",
                "В очереди",
            ],
            ["Emails queue", "Queue single", "Recipient", "Next attempt", "Send now", "Queued"],
        ),
        (
            "/emails/create/",
            [
                "Поставить письмо в очередь",
                "E-mail получателя",
                "Аккаунт отправки",
                "Выберите аккаунт",
                "Поставить в очередь",
                "Назад",
            ],
            ["Queue single", "Recipient's", "Sending account", "Choose an account", "Back"],
        ),
        (
            "/logs/",
            [
                "Журналы",
                "Экспорт в CSV",
                "Любая кампания",
                "Любой результат",
                "Временная ошибка",
                "Ответ сервера",
                "Фильтровать",
            ],
            [
                "Export CSV",
                "Any campaign",
                "Any outcome",
                "Temporary failure",
                "Server reply",
                "Outcome",
                "Filter",
            ],
        ),
        (
            "/campaigns/{id}/report/",
            [
                "Отчёт",
                "Отправлено",
                "Доставлено",
                "Сводка в CSV",
                "Кто не открыл",
                "Повторить можно только завершённую кампанию",
            ],
            [
                "Report",
                "Delivered",
                "Opens and clicks",
                "Summary CSV",
                "Who did not open",
                "Only a finished campaign",
            ],
        ),
        ("/campaigns/{id}/replies/", ["Ответы"], ["Replies", "No replies found"]),
    ],
)
def test_campaign_pages_speak_russian(world, owner_client: Client, path, russian, english):
    response = owner_client.get(path.format(id=world.pk), headers=RUSSIAN)
    assert_russian(response, russian, english)


def test_an_empty_log_says_so_in_russian(personas, owner_client: Client):
    response = owner_client.get("/logs/", headers=RUSSIAN)
    assert_russian(
        response, ["пока не было попыток отправки"], ["No sending attempts", "in this workspace"]
    )


def test_the_form_s_errors_are_russian(world, owner_client: Client):
    response = owner_client.post(
        "/campaigns/new/", {"name": "Autumn", "schedule_mode": "at"}, headers=RUSSIAN
    )
    assert_russian(
        response,
        [
            "Выберите шаблон.",
            "Выберите хотя бы один активный аккаунт отправки.",
            "Выберите, когда отправить.",
        ],
        ["Choose a template.", "Choose at least one", "Choose when to send."],
    )


def test_saving_a_campaign_says_so_in_russian(world, owner_client: Client):
    workspace = world.workspace
    data = {
        "name": "Autumn",
        "schedule_mode": "now",
        "template": Template.objects.get(workspace=workspace).pk,
        "accounts": [SendingAccount.objects.get(workspace=workspace).pk],
        "lists": [RecipientListFactory.create(workspace=workspace, name="All").pk],
    }
    response = owner_client.post("/campaigns/new/", data, headers=RUSSIAN, follow=True)
    assert_russian(response, ["Кампания сохранена как черновик."], ["Campaign saved"])


def test_a_resend_of_an_unfinished_campaign_is_refused_in_russian(world, owner_client: Client):
    response = owner_client.post(
        f"/campaigns/{world.pk}/resend/failed/", headers=RUSSIAN, follow=True
    )
    assert_russian(response, ["Повторить можно только завершённую кампанию."], ["Only a finished"])
