"""The most-seen pages render in Russian: every one answers, in Russian, with no English left
in the words of the layout and of the page's own headings and buttons."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.views.defaults import server_error

from audience.tests.factories import RecipientFactory
from campaigns.models import Campaign, CampaignStatus
from campaigns.tests.factories import CampaignFactory
from content.tests.factories import TemplateFactory
from sending.tests.factories import SendingAccountFactory

pytestmark = pytest.mark.django_db

RUSSIAN = {"Accept-Language": "ru"}


def _text(html: str) -> str:
    """The page's visible words: no tags, scripts or attribute values."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.DOTALL)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.fixture
def filled(personas):
    workspace = personas.workspace
    RecipientFactory.create(workspace=workspace, email="reader@example.test")
    TemplateFactory.create(workspace=workspace, name="Newsletter")
    SendingAccountFactory.create(workspace=workspace, name="Main account")
    return CampaignFactory.create(workspace=workspace, name="Spring sale", bare=True)


@pytest.mark.parametrize(
    ("path", "russian", "english"),
    [
        (
            "/",
            ["Обзор", "Письма сегодня", "Отправлено", "Повторено", "Активен", "Владелец"],
            ["Messages today", "Retried", "Active", "Getting started", "Owner"],
        ),
        ("/campaigns/", ["Новая кампания", "Статус", "Черновик"], ["New campaign", "Draft"]),
        ("/recipients/", ["Добавить получателя", "1 получатель"], ["Add recipient"]),
        ("/templates/", ["Новый шаблон", "Просмотр"], ["New template", "Preview"]),
        (
            "/sending-accounts/",
            ["Добавить аккаунт", "Отправлено сегодня"],
            ["Add account", "Sent today"],
        ),
        ("/accounts/profile/", ["Профиль", "Язык", "Язык браузера"], ["Profile", "Language"]),
    ],
)
def test_signed_in_pages_speak_russian(filled, owner_client: Client, path, russian, english):
    response = owner_client.get(path, headers=RUSSIAN)
    assert response.status_code == 200
    text = _text(response.content.decode())
    for word in ["Получатели", "Шаблоны", "Кампании", "Настройки", "Выйти", *russian]:
        assert word in text, word
    for word in ["Recipients", "Campaigns", "Log out", *english]:
        assert word not in text, word


def test_the_campaign_page_speaks_russian(filled, owner_client: Client):
    response = owner_client.get(f"/campaigns/{filled.pk}/", headers=RUSSIAN)
    assert response.status_code == 200
    text = _text(response.content.decode())
    for word in ["Настройка", "Аудитория", "Шаблон:", "Расписание:", "Изменить", "Владелец"]:
        assert word in text, word
    for word in ["Setup", "Audience", "Schedule:", "Owner"]:
        assert word not in text, word


@pytest.mark.parametrize(
    ("path", "russian"),
    [
        ("/accounts/login/", ["Войти", "Забыли пароль?", "Адрес e-mail", "Пароль"]),
        ("/accounts/signup/", ["Создайте аккаунт", "Имя", "Уже есть аккаунт?"]),
        ("/accounts/password/reset/", ["Сброс пароля", "Отправить ссылку"]),
        ("/accounts/verify-again/", ["Отправить ссылку для подтверждения ещё раз"]),
    ],
)
def test_signed_out_pages_speak_russian(db, path, russian):
    response = Client().get(path, headers=RUSSIAN)
    assert response.status_code == 200
    text = _text(response.content.decode())
    for word in russian:
        assert word in text, word
    assert "Sign in" not in text


def test_the_server_error_page_speaks_russian(rf):
    # Django renders 500.html with no context processors; only the request's language counts.
    with translation.override("ru"):
        response = server_error(rf.get("/"))
    assert response.status_code == 500
    page = response.content.decode()
    assert '<html lang="ru">' in page
    text = _text(page)
    for word in ["Ошибка сервера", "Что-то пошло не так", "На главную страницу"]:
        assert word in text, word
    for word in ["Something went wrong", "Server error", "Go to the home page"]:
        assert word not in text, word


def test_the_bad_request_page_speaks_russian(db, settings):
    settings.ALLOWED_HOSTS = ["testserver"]
    response = Client().get("/", headers={**RUSSIAN, "Host": "elsewhere.test"})
    assert response.status_code == 400
    text = _text(response.content.decode())
    assert "Неверный запрос" in text
    assert "Bad Request" not in text


def test_the_not_found_page_speaks_russian(db):
    response = Client().get("/no-such-page/", headers=RUSSIAN)
    assert response.status_code == 404
    assert "Страница не найдена" in _text(response.content.decode())


def test_a_refusal_of_a_service_is_flashed_in_russian(filled, owner_client: Client):
    Campaign.objects.filter(pk=filled.pk).update(status=CampaignStatus.RUNNING)
    url = reverse("campaigns:delete", kwargs={"campaign_id": filled.pk})
    response = owner_client.post(url, headers=RUSSIAN, follow=True)
    text = _text(response.content.decode())
    assert "Прежде чем удалить кампанию, отмените её." in text
    assert "Cancel the campaign" not in text
