"""The public pages (unsubscribe, the sign-up form and its answers, the error pages) follow
the visitor's Accept-Language: in Russian with no English left, and `<html lang>` says the
language the page is in."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from audience.tests.factories import RecipientListFactory
from campaigns import links
from campaigns.tests.factories import CampaignFactory, DeliveryFactory
from core.testing.russian import RUSSIAN, assert_russian
from subscriptions.tests.factories import SignupFormFactory

pytestmark = pytest.mark.django_db
ENGLISH = {"Accept-Language": "en"}


def _lang(response) -> str:
    found = re.search(r'<html lang="([^"]*)"', response.content.decode())
    assert found is not None
    return found.group(1)


@pytest.fixture
def unsubscribe_path(personas):
    workspace = personas.workspace
    campaign = CampaignFactory.create(workspace=workspace, name="Spring sale", bare=True)
    delivery = DeliveryFactory.create(campaign=campaign, address="ann@example.test")
    return reverse("tracking:unsubscribe", kwargs={"token": links.token_for(delivery.pk)})


@pytest.fixture
def signup(personas):
    newsletter = RecipientListFactory.create(workspace=personas.workspace, name="Newsletter")
    return SignupFormFactory.create(
        workspace=personas.workspace, lists=[newsletter], fields=["first_name"]
    )


def test_the_unsubscribe_page_speaks_the_visitor_s_language(unsubscribe_path):
    asked = Client().get(unsubscribe_path, headers=RUSSIAN)
    assert_russian(asked, ["Отписаться", "Больше не присылать письма"], ["Unsubscribe", "Stop"])
    assert _lang(asked) == "ru"
    done = Client().post(unsubscribe_path, {"List-Unsubscribe": "One-Click"}, headers=RUSSIAN)
    assert_russian(done, ["Вы отписаны", "больше не будут приходить"], ["You are unsubscribed"])
    assert _lang(done) == "ru"
    english = Client().get(unsubscribe_path, headers=ENGLISH)
    assert "Stop e-mails to" in english.content.decode()
    assert _lang(english) == "en"


def test_the_sign_up_form_speaks_the_visitor_s_language(signup):
    url = reverse("subscribe:form", kwargs={"form_key": signup.public_key})
    page = Client().get(url, headers=RUSSIAN)
    assert_russian(page, ["Адрес e-mail", "Имя", "Подписаться"], ["Subscribe", "First name"])
    assert _lang(page) == "ru"
    english = Client().get(url, headers=ENGLISH)
    assert "Subscribe" in english.content.decode()
    assert _lang(english) == "en"
    thanks = Client().post(url, {"email": "bob@example.com", "website": ""}, headers=RUSSIAN)
    assert_russian(thanks, ["Спасибо", "письмо уже в пути"], ["Thank you", "on its way"])
    assert _lang(thanks) == "ru"


def test_the_confirmation_pages_speak_the_visitor_s_language(signup):
    url = reverse("subscribe:confirm", kwargs={"token": "forged"})
    asked = Client().get(url, headers=RUSSIAN)
    assert_russian(asked, ["Подтвердите подписку", "Подтвердить"], ["Confirm your"])
    assert _lang(asked) == "ru"
    answered = Client().post(url, headers=RUSSIAN)
    assert answered.status_code == 400
    text = answered.content.decode()
    assert "Ссылка неполная" in text
    assert "The link is incomplete" not in text
    assert _lang(answered) == "ru"


def test_the_not_found_page_speaks_russian(db):
    response = Client().get("/v/not-a-token/", headers=RUSSIAN)
    assert response.status_code == 404
    text = response.content.decode()
    assert "Страница не найдена" in text
    assert "Page not found" not in text
    assert _lang(response) == "ru"


def test_a_viewer_reads_the_read_only_note_in_russian(personas, viewer_client: Client):
    readers = RecipientListFactory.create(workspace=personas.workspace, name="Readers")
    response = viewer_client.get(f"/recipients/lists/{readers.pk}/", headers=RUSSIAN)
    assert_russian(response, ["Вы наблюдатель"], ["You are a viewer"])


def test_a_broken_invitation_link_speaks_russian(db):
    response = Client().get("/accounts/invitations/not-a-token/", headers=RUSSIAN)
    assert response.status_code == 404
    text = response.content.decode()
    assert "Это приглашение не работает" in text
    assert "Попросите владельца" in text
    assert "This invitation does not work" not in text
    assert _lang(response) == "ru"
