"""While the cache (Redis) cannot be reached, the steps it guards are refused with a 503 that
says to try again in a minute, in the page's language or the API's error shape; nothing is
sent and no one is signed in. They used to end in a server error (500)."""

from __future__ import annotations

import pytest
import time_machine
from django.test import Client
from django.test.utils import override_settings
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tests.test_two_factor import (
    START,
    code_of,
    code_step,
    enrol,
    password_step,
    signed_in,
)
from core.testing.fixtures import unreachable_caches
from postroom.cache_outage import RETRY_SECONDS

pytestmark = pytest.mark.django_db


def assert_refused_page(response, text: str) -> None:
    assert response.status_code == 503
    assert response["Retry-After"] == str(RETRY_SECONDS)
    page = response.content.decode()
    assert "data-cache-outage" in page
    assert text in page


def test_a_password_reset_mail_is_refused_with_a_clear_page(unreachable_cache, smtp_sink):
    UserFactory.create(email="ada@example.test")
    response = Client().post(reverse("accounts:password_reset"), {"email": "ada@example.test"})
    assert_refused_page(response, "Please try again in a minute.")
    assert smtp_sink.messages == []


def test_a_two_factor_code_is_refused_in_the_users_language(smtp_sink):
    with time_machine.travel(START, tick=False) as clock:
        user = UserFactory.create(email="ada@example.test")
        device, _codes = enrol(user)
        clock.shift(30)  # the next code: enrolment used this one
        client = Client()
        assert password_step(client, user.email).status_code == 302
        with override_settings(CACHES=unreachable_caches()):
            refused = client.post(
                reverse("accounts:login_code"),
                {"code": code_of(device)},
                HTTP_ACCEPT_LANGUAGE="ru",
            )
            assert_refused_page(refused, "Пожалуйста, повторите попытку через минуту.")
        assert not signed_in(client)
        assert code_step(client, code_of(device)).status_code == 302  # the cache is back
        assert signed_in(client)


def test_the_api_sign_in_is_refused_in_its_error_shape(unreachable_cache):
    UserFactory.create(email="ada@example.test")
    response = APIClient().post(
        "/api/login/", {"email": "ada@example.test", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 503
    assert response["Retry-After"] == str(RETRY_SECONDS)
    assert "try again in a minute" in response.json()["detail"]
    assert "access" not in response.json()
