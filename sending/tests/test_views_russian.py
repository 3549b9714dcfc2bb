"""The sending pages render in Russian: an account's page and form, captured messages, DKIM
keys and a template's test send show their words in Russian, with no English left."""

from __future__ import annotations

import pytest
from django.test import Client

from content.tests.factories import TemplateFactory
from core.testing.russian import RUSSIAN, assert_russian
from sending import reasons
from sending.models import DkimKey
from sending.services import account_mark_error
from sending.tests.factories import CapturedMessageFactory, SendingAccountFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(personas):
    workspace = personas.workspace
    account = SendingAccountFactory.create(workspace=workspace, name="Main account")
    captured = CapturedMessageFactory.create(workspace=workspace, account=account, subject="")
    key = DkimKey.objects.create(
        workspace=workspace, domain="example.test", private_key="x", public_key="AAAA"
    )
    template = TemplateFactory.create(workspace=workspace, name="Newsletter")
    return {"account": account.pk, "captured": captured.pk, "key": key.pk, "template": template.pk}


@pytest.mark.parametrize(
    ("path", "russian", "english"),
    [
        (
            "/sending-accounts/{account}/",
            [
                "Все аккаунты",
                "Отправлено сегодня",
                "Минимальная пауза",
                "Подключение",
                "Отправитель",
                "Вид",
                "Проверить этот аккаунт",
                "Отправить тестовое письмо на",
                "Управление",
                "Удалить",
            ],
            [
                "All accounts",
                "Sent today",
                "Minimum wait",
                "Connection",
                "Kind",
                "Test this account",
                "Send a test message to",
                "Manage",
            ],
        ),
        (
            "/sending-accounts/{account}/edit/",
            [
                "Изменить Main account",
                "E-mail отправителя",
                "Имя отправителя",
                "Хост SMTP",
                "Дневной лимит",
                "Прогрев",
                "Начало прогрева",
                "Сохранить",
                "Отмена",
                "Неявный TLS (SSL)",
                "SMTP-сервер",
            ],
            [
                "Sender e-mail",
                "Sender name",
                "SMTP host",
                "Daily limit",
                "Warm-up",
                "Save",
                "Cancel",
                "Implicit TLS",
            ],
        ),
        (
            "/sending-accounts/new/",
            ["Добавить аккаунт отправки"],
            ["Add a sending account", "Limits"],
        ),
        (
            "/sending-accounts/captured/",
            ["Перехваченные письма", "Кому", "Когда", "(без темы)"],
            ["Captured messages", "When", "(no subject)"],
        ),
        (
            "/sending-accounts/captured/{captured}/",
            ["(без темы)", "Все перехваченные письма", "Отправитель конверта", "Заголовки"],
            ["(no subject)", "All captured messages", "Envelope from", "Headers", "Source"],
        ),
        (
            "/sending-accounts/dkim/",
            ["Ключи DKIM", "Домен", "Селектор", "Создать ключ", "Создать"],
            ["DKIM keys", "Domain", "Selector", "Generate"],
        ),
        (
            "/sending-accounts/dkim/{key}/",
            ["Ключ DKIM для example.test", "Опубликуйте эту DNS-запись", "Удалить этот ключ"],
            ["DKIM key for", "Publish this DNS record", "Delete this key"],
        ),
        (
            "/sending-accounts/test-send/{template}/",
            [
                "Тестовая отправка «Newsletter»",
                "Назад к шаблону",
                "Через",
                "Отправить тестовое письмо",
            ],
            ["Send a test", "Back to the template", "Through"],
        ),
    ],
)
def test_sending_pages_speak_russian(world, owner_client: Client, path, russian, english):
    response = owner_client.get(path.format(**world), headers=RUSSIAN)
    assert_russian(response, russian, english)


def test_a_refused_from_address_reads_in_russian_with_the_services_words(
    personas, owner_client: Client
):
    # The engine writes the reason with no language; pages translate its fixed opening and
    # keep the service's own words as they came.
    account = SendingAccountFactory.create(workspace=personas.workspace, name="Service")
    service_words = "SendGrid API response 403: does not match a verified Sender Identity"
    account_mark_error(account=account, reason=f"{reasons.SENDER_REFUSED}: {service_words}")
    for path in ("/", f"/sending-accounts/{account.pk}/", "/sending-accounts/"):
        page = owner_client.get(path, headers=RUSSIAN).content.decode()
        assert "Сервис не принимает этот адрес отправителя (From)" in page, path
        assert service_words in page, path
        assert "does not accept this From address" not in page, path
    english = owner_client.get(f"/sending-accounts/{account.pk}/").content.decode()
    assert "The service does not accept this From address" in english
