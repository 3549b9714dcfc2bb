"""The profile's list of sessions: each browser signed in, ended for real when asked."""

from __future__ import annotations

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.agents import describe_agent
from accounts.housekeeping import purge_ended_sessions
from accounts.models import UserSession
from accounts.tests.factories import PASSWORD, UserFactory
from accounts.user_sessions import truncate_ip

pytestmark = pytest.mark.django_db

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)


def browser(email: str, agent: str, address: str, password: str = PASSWORD) -> Client:
    """A client signed in through the sign-in page, as a browser is."""
    client = Client(HTTP_USER_AGENT=agent, REMOTE_ADDR=address)
    response = client.post(reverse("accounts:login"), {"username": email, "password": password})
    assert response.status_code == 302
    return client


def signed_in(client: Client) -> bool:
    return client.get(reverse("accounts:profile")).status_code == 200


@pytest.fixture
def ada(db):
    return UserFactory.create(email="ada@example.test")


def test_the_profile_lists_sessions_with_device_network_and_this_one_marked(ada):
    browser(ada.email, IPHONE, "198.51.100.23")
    laptop = browser(ada.email, FIREFOX, "203.0.113.77")

    page = laptop.get(reverse("accounts:profile")).content.decode()
    assert "Firefox on Linux" in page
    assert "Safari on iOS" in page
    assert "203.0.113.0/24" in page
    assert "198.51.100.0/24" in page
    assert "203.0.113.77" not in page  # the address is kept truncated only
    assert page.count("this session") == 1
    mine = UserSession.objects.get(session_key=laptop.session.session_key)
    assert f'data-session="{mine.pk}"' in page


def test_ending_another_session_signs_that_browser_out(ada):
    phone = browser(ada.email, IPHONE, "198.51.100.23")
    laptop = browser(ada.email, FIREFOX, "203.0.113.77")
    phone_row = UserSession.objects.get(session_key=phone.session.session_key)

    response = laptop.post(reverse("accounts:session_end", kwargs={"session_id": phone_row.pk}))
    assert response.status_code == 302
    assert not signed_in(phone)
    assert signed_in(laptop)
    assert not Session.objects.filter(session_key=phone_row.session_key).exists()
    assert not UserSession.objects.filter(pk=phone_row.pk).exists()


def test_ending_all_others_keeps_this_one(ada):
    others = [browser(ada.email, IPHONE, f"198.51.100.{n}") for n in (1, 2)]
    laptop = browser(ada.email, FIREFOX, "203.0.113.77")
    laptop.post(reverse("accounts:sessions_end_others"))
    assert signed_in(laptop)
    assert not any(signed_in(other) for other in others)
    assert UserSession.objects.filter(user=ada).count() == 1


def test_a_user_cannot_end_someone_elses_session(ada):
    bob = UserFactory.create(email="bob@example.test")
    bobs = browser(bob.email, FIREFOX, "203.0.113.5")
    bobs_row = UserSession.objects.get(user=bob)
    adas = browser(ada.email, FIREFOX, "203.0.113.6")

    url = reverse("accounts:session_end", kwargs={"session_id": bobs_row.pk})
    assert adas.post(url).status_code == 404
    assert signed_in(bobs)
    assert (
        f'data-session="{bobs_row.pk}"'
        not in adas.get(reverse("accounts:profile")).content.decode()
    )
    assert UserSession.objects.filter(pk=bobs_row.pk).exists()


def test_changing_the_password_ends_the_other_sessions(ada):
    phone = browser(ada.email, IPHONE, "198.51.100.23")
    laptop = browser(ada.email, FIREFOX, "203.0.113.77")
    response = laptop.post(
        reverse("accounts:password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "an-entirely-new-passphrase",
            "new_password2": "an-entirely-new-passphrase",
        },
    )
    assert response.status_code == 302
    assert signed_in(laptop)
    assert not signed_in(phone)
    [row] = UserSession.objects.filter(user=ada)
    assert row.session_key == laptop.session.session_key  # the kept session, under its new key


def test_signed_out_sessions_leave_the_list(ada):
    phone = browser(ada.email, IPHONE, "198.51.100.23")
    laptop = browser(ada.email, FIREFOX, "203.0.113.77")
    phone.post(reverse("accounts:logout"))
    page = laptop.get(reverse("accounts:profile")).content.decode()
    assert "Safari on iOS" not in page


def test_devices_and_networks_are_described_briefly():
    assert describe_agent(FIREFOX) == "Firefox on Linux"
    assert describe_agent("") == "Unknown device"
    assert truncate_ip("2001:db8:1234:5678::1") == "2001:db8:1234::/48"
    assert truncate_ip("not an address") == ""


def test_housekeeping_forgets_sessions_that_ended(ada):
    phone = browser(ada.email, IPHONE, "198.51.100.23")
    laptop = browser(ada.email, FIREFOX, "203.0.113.77")
    phone.post(reverse("accounts:logout"))
    assert purge_ended_sessions(now=timezone.now()) == 1
    [row] = UserSession.objects.filter(user=ada)
    assert row.session_key == laptop.session.session_key
