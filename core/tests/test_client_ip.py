"""Rate limits and the sign-in lockout key on the real client: X-Forwarded-For is believed
only from TRUSTED_PROXIES, for DRF's throttles and django-axes alike."""

import uuid

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.tests.factories import PASSWORD, UserFactory
from core.client_ip import client_ip

PROXY = "10.0.0.7"


@pytest.mark.parametrize(
    ("proxies", "remote", "forwarded", "client"),
    [
        ([], "203.0.113.9", "", "203.0.113.9"),
        ([], "203.0.113.9", "198.51.100.1", "203.0.113.9"),  # no proxy trusted: header ignored
        ([PROXY], "203.0.113.9", "198.51.100.1", "203.0.113.9"),  # not from the proxy
        ([PROXY], PROXY, "198.51.100.1", "198.51.100.1"),
        ([PROXY], PROXY, "6.6.6.6, 198.51.100.1", "198.51.100.1"),  # a forged entry on the left
        (["10.0.0.0/8"], PROXY, "198.51.100.1, 10.0.0.3", "198.51.100.1"),  # two proxies
        (["10.0.0.0/8"], PROXY, "10.0.0.2, 10.0.0.3", "10.0.0.2"),  # only proxies: the farthest
        ([PROXY], PROXY, "not-an-address", PROXY),  # garbage: the proxy itself
        ([PROXY], PROXY, "", PROXY),
        (["2001:db8::/32"], "2001:db8::1", "2001:db8:1::5, 198.51.100.1", "198.51.100.1"),
    ],
)
def test_the_client_is_the_first_address_past_the_trusted_proxies(
    settings, proxies, remote, forwarded, client
):
    settings.TRUSTED_PROXIES = proxies
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == client


def api_logins(count: int, remote: str) -> list[int]:
    """Token requests with wrong passwords for new addresses each time (django-axes never
    locks one), each claiming another client in X-Forwarded-For."""
    statuses = []
    for n in range(count):
        client = APIClient(REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=f"198.51.100.{n % 250 + 1}")
        response = client.post(
            "/api/login/", {"email": f"{uuid.uuid4().hex}@example.test", "password": "wrong"}
        )
        statuses.append(response.status_code)
    return statuses


@pytest.mark.django_db
def test_a_client_cannot_dodge_the_login_throttle_with_forwarded_for(settings):
    """Reported: 40 logins with random X-Forwarded-For values were never throttled."""
    statuses = api_logins(40, "203.0.113.9")
    assert statuses[:30] == [401] * 30  # API_LOGIN_RATE: 30/min per client
    assert statuses[30:] == [429] * 10


@pytest.mark.django_db
def test_behind_a_trusted_proxy_each_client_has_its_own_login_budget(settings):
    settings.TRUSTED_PROXIES = [PROXY]
    statuses = api_logins(40, PROXY)
    assert 429 not in statuses  # 40 clients, one request each, all through one proxy
    # One client through the proxy is throttled like a direct one.
    one = APIClient(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.77")
    answers = [
        one.post("/api/login/", {"email": f"{n}@example.test", "password": "x"}).status_code
        for n in range(31)
    ]
    assert answers[-1] == 429


def ui_login(client: Client, email: str, password: str, forwarded: str):
    return client.post(
        reverse("accounts:login"),
        {"username": email, "password": password},
        HTTP_X_FORWARDED_FOR=forwarded,
    )


@pytest.mark.django_db
def test_the_lockout_cannot_be_dodged_with_forwarded_for(settings):
    UserFactory.create(email="ada@example.test")
    client = Client(REMOTE_ADDR="203.0.113.9")
    for n in range(settings.AXES_FAILURE_LIMIT):
        ui_login(client, "ada@example.test", "wrong", f"198.51.100.{n + 1}")
    locked = ui_login(client, "ada@example.test", PASSWORD, "198.51.100.200")
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.content.decode()


@pytest.mark.django_db
def test_behind_a_proxy_one_client_cannot_lock_another_out(settings):
    """The lockout keys on the address and the real client: an attacker's failures through the
    proxy do not lock the account's owner, coming through the same proxy, out."""
    settings.TRUSTED_PROXIES = [PROXY]
    UserFactory.create(email="ada@example.test")
    attacker = Client(REMOTE_ADDR=PROXY)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        ui_login(attacker, "ada@example.test", "wrong", "198.51.100.66")
    assert ui_login(attacker, "ada@example.test", PASSWORD, "198.51.100.66").status_code == 429

    owner = Client(REMOTE_ADDR=PROXY)
    assert ui_login(owner, "ada@example.test", PASSWORD, "192.0.2.10").status_code == 302
