"""The interface's language: the profile's choice, else the browser's, else English; the
switcher keeps a choice for signed-out visitors (Django's language cookie) and on the profile."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation

from accounts.models import User
from audience.tests.factories import RecipientFactory

pytestmark = pytest.mark.django_db

RUSSIAN = {"Accept-Language": "ru-RU,ru;q=0.9,en;q=0.5"}


def _sidebar(html: str) -> str:
    found = re.search(r'<aside id="sidebar".*?</aside>', html, re.DOTALL)
    assert found is not None
    return found.group()


def test_english_without_a_choice(owner_client: Client):
    html = owner_client.get("/").content.decode()
    assert '<html lang="en">' in html
    assert "Recipients" in _sidebar(html)
    assert "Получатели" not in html


def test_the_browsers_russian_gives_the_russian_sidebar(owner_client: Client):
    response = owner_client.get("/", headers=RUSSIAN)
    html = response.content.decode()
    sidebar = _sidebar(html)
    assert '<html lang="ru">' in html
    for word in ("Обзор", "Получатели", "Шаблоны", "Кампании", "Аккаунты отправки", "Настройки"):
        assert word in sidebar
    assert "Recipients" not in sidebar
    assert response["Content-Language"] == "ru"
    assert "Accept-Language" in response["Vary"]


def test_a_language_the_interface_lacks_falls_back_to_english(owner_client: Client):
    html = owner_client.get("/", HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9").content.decode()
    assert '<html lang="en">' in html
    assert "Recipients" in _sidebar(html)


def test_the_profiles_language_wins_over_the_browser(personas, owner_client: Client):
    User.objects.filter(pk=personas.owner.pk).update(language="en")
    html = owner_client.get("/", headers=RUSSIAN).content.decode()
    assert "Recipients" in _sidebar(html)
    User.objects.filter(pk=personas.owner.pk).update(language="ru")
    html = owner_client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Получатели" in _sidebar(html)
    # Over the language cookie too: the profile follows the user to every browser.
    owner_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert "Получатели" in _sidebar(owner_client.get("/").content.decode())


def test_the_profile_page_chooses_the_language(personas, owner_client: Client):
    page = owner_client.get("/accounts/profile/").content.decode()
    assert 'name="language"' in page
    assert "The browser&#x27;s language" in page
    response = owner_client.post(
        "/accounts/profile/", {"first_name": "Ada", "last_name": "", "language": "ru"}
    )
    assert response.status_code == 302
    personas.owner.refresh_from_db()
    assert personas.owner.language == "ru"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "ru"
    page = owner_client.get("/accounts/profile/").content.decode()
    assert "Профиль сохранён." in page
    # Blank follows the browser again, and forgets the cookie.
    response = owner_client.post(
        "/accounts/profile/", {"first_name": "Ada", "last_name": "", "language": ""}
    )
    personas.owner.refresh_from_db()
    assert personas.owner.language == ""
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == ""
    assert "Recipients" in _sidebar(owner_client.get("/").content.decode())


def test_the_profile_refuses_a_language_it_does_not_offer(personas, owner_client: Client):
    response = owner_client.post(
        "/accounts/profile/", {"first_name": "", "last_name": "", "language": "xx"}
    )
    assert response.status_code == 200
    personas.owner.refresh_from_db()
    assert personas.owner.language == ""


def test_the_switcher_saves_the_choice_on_the_profile(personas, owner_client: Client):
    html = owner_client.get("/").content.decode()
    assert 'action="/accounts/language/"' in _sidebar(html)
    response = owner_client.post("/accounts/language/", {"language": "ru", "next": "/campaigns/"})
    assert response.status_code == 302
    assert response["Location"] == "/campaigns/"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "ru"
    personas.owner.refresh_from_db()
    assert personas.owner.language == "ru"
    # Another browser of the same user, without the cookie, speaks Russian too.
    other = Client()
    other.force_login(personas.owner)
    assert "Получатели" in _sidebar(other.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode())


def test_the_switcher_works_signed_out_with_the_cookie():
    client = Client(enforce_csrf_checks=True)
    page = client.get("/accounts/login/").content.decode()
    assert 'action="/accounts/language/"' in page
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token is not None
    response = client.post(
        "/accounts/language/",
        {"language": "ru", "next": "/accounts/login/", "csrfmiddlewaretoken": token[1]},
    )
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    cookie = response.cookies[settings.LANGUAGE_COOKIE_NAME]
    assert cookie.value == "ru"
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    page = client.get("/accounts/login/").content.decode()
    assert '<html lang="ru">' in page
    assert "Забыли пароль?" in page
    # Back to English with the same switcher.
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token is not None
    client.post("/accounts/language/", {"language": "en", "csrfmiddlewaretoken": token[1]})
    assert "Forgot your password?" in client.get("/accounts/login/").content.decode()


def test_the_switcher_needs_the_csrf_token_and_a_post():
    client = Client(enforce_csrf_checks=True)
    assert client.post("/accounts/language/", {"language": "ru"}).status_code == 403
    assert Client().get("/accounts/language/").status_code == 405


@pytest.mark.parametrize("target", ["https://evil.test/", "//evil.test/x", "javascript:alert(1)"])
def test_the_switcher_goes_back_only_to_this_site(target):
    response = Client().post("/accounts/language/", {"language": "ru", "next": target})
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_the_switcher_ignores_an_unknown_language(personas, owner_client: Client):
    response = owner_client.post("/accounts/language/", {"language": "xx", "next": "/"})
    assert response.status_code == 302
    personas.owner.refresh_from_db()
    assert personas.owner.language == ""


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (1, "1 получатель"),
        (2, "2 получателя"),
        (5, "5 получателей"),
        (11, "11 получателей"),
        (21, "21 получатель"),
        (22, "22 получателя"),
        (112, "112 получателей"),
    ],
)
def test_russian_plurals_come_from_the_catalog(n, expected):
    with translation.override("ru"):
        text = translation.ngettext(
            "%(total)s recipient in this workspace", "%(total)s recipients in this workspace", n
        ) % {"total": n}
    assert text == f"{expected} в этом рабочем пространстве"


def test_the_recipients_page_counts_in_russian(personas, owner_client: Client):
    from audience.selectors import recipients_total_forget

    def total() -> str:
        recipients_total_forget(personas.workspace)  # the count is cached for a minute
        html = owner_client.get("/recipients/", headers=RUSSIAN).content.decode()
        found = re.search(r'id="recipients-total">([^<.;]*)', html)
        assert found is not None
        return found[1].strip()

    assert total() == "0 получателей в этом рабочем пространстве"
    RecipientFactory.create(workspace=personas.workspace, email="a@example.test")
    assert total() == "1 получатель в этом рабочем пространстве"
    for i in range(2, 6):
        RecipientFactory.create(workspace=personas.workspace, email=f"r{i}@example.test")
        if i == 2:
            assert total() == "2 получателя в этом рабочем пространстве"
    assert total() == "5 получателей в этом рабочем пространстве"


def test_the_me_api_tells_the_language(personas):
    from rest_framework.test import APIClient

    User.objects.filter(pk=personas.owner.pk).update(language="ru")
    personas.owner.refresh_from_db()
    client = APIClient()
    client.force_authenticate(personas.owner)
    body = client.get("/api/me/").json()
    assert body["email"] == personas.owner.email
    assert body["language"] == "ru"


def test_system_mail_follows_the_readers_language(personas, mailoutbox):
    # A password reset goes out in the language the account's owner chose, whoever asks.
    User.objects.filter(pk=personas.editor.pk).update(language="ru")
    Client().post("/accounts/password/reset/", {"email": personas.editor.email})
    assert len(mailoutbox) == 1
    assert mailoutbox[0].subject == "Сброс пароля Postroom"
    assert "Здравствуйте!" in mailoutbox[0].body
    # Without a choice, the language of the request that sends it.
    mailoutbox.clear()
    Client().post(
        "/accounts/password/reset/", {"email": personas.viewer.email}, HTTP_ACCEPT_LANGUAGE="ru"
    )
    assert mailoutbox[0].subject == "Сброс пароля Postroom"
    mailoutbox.clear()
    Client().post("/accounts/password/reset/", {"email": personas.viewer.email})
    assert mailoutbox[0].subject == "Reset your Postroom password"
