import re

import pytest
from django.urls import reverse

from accounts.models import User
from accounts.tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

NEW = "another-long-passphrase-42"


def reset_link(smtp_sink) -> str:
    [message] = smtp_sink.wait_for(1)
    match = re.search(r"https?://\S+/accounts/password/reset/\S+", message.text)
    assert match, message.text
    return match.group(0)


def test_password_reset_by_email_end_to_end(client, smtp_sink):
    UserFactory.create(email="ada@example.test")

    response = client.post(reverse("accounts:password_reset"), {"email": "Ada@Example.test"})
    assert response.status_code == 302
    link = reset_link(smtp_sink)
    assert smtp_sink.messages[0].rcpt_tos == ["ada@example.test"]

    form_page = client.get(link, follow=True)
    assert "Choose a new password" in form_page.content.decode()
    done = client.post(
        form_page.redirect_chain[-1][0], {"new_password1": NEW, "new_password2": NEW}
    )
    assert done.status_code == 302
    assert User.objects.get().check_password(NEW)
    assert client.get(link, follow=True).context["validlink"] is False  # used once


def test_a_reset_link_also_confirms_the_address(client, smtp_sink):
    UserFactory.create(email="ada@example.test", email_verified_at=None)
    client.post(reverse("accounts:password_reset"), {"email": "ada@example.test"})
    page = client.get(reset_link(smtp_sink), follow=True)
    client.post(page.redirect_chain[-1][0], {"new_password1": NEW, "new_password2": NEW})
    assert User.objects.get().email_verified_at is not None


def test_reset_reveals_nothing_and_sends_nothing_for_unknown_or_blocked(client, smtp_sink):
    UserFactory.create(email="blocked@example.test", is_active=False)
    for email in ("nobody@example.test", "blocked@example.test"):
        response = client.post(reverse("accounts:password_reset"), {"email": email})
        assert response.status_code == 302
        assert response.url == reverse("accounts:password_reset_done")
    assert smtp_sink.messages == []


def test_reset_mails_to_one_address_are_limited_per_hour(client, smtp_sink, settings):
    settings.PASSWORD_RESET_MAILS_PER_HOUR = 2
    UserFactory.create(email="ada@example.test")
    UserFactory.create(email="bob@example.test")
    for email in ("ada@example.test", "ADA@example.test", "ada@example.test", "bob@example.test"):
        response = client.post(reverse("accounts:password_reset"), {"email": email})
        # The page never tells whether a mail went out.
        assert response.url == reverse("accounts:password_reset_done")
    smtp_sink.wait_for(3)
    sent_to = sorted(m.rcpt_tos[0] for m in smtp_sink.messages)
    assert sent_to == ["ada@example.test", "ada@example.test", "bob@example.test"]


def test_reset_links_use_site_url_when_set(client, smtp_sink, settings):
    settings.SITE_URL = "https://mail.example.org"
    UserFactory.create(email="ada@example.test")
    client.post(reverse("accounts:password_reset"), {"email": "ada@example.test"})
    assert reset_link(smtp_sink).startswith("https://mail.example.org/accounts/password/reset/")


def test_change_password(client):
    user = UserFactory.create()
    client.force_login(user)
    response = client.post(
        reverse("accounts:password_change"),
        {"old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW},
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(NEW)
    assert client.get(reverse("accounts:profile")).status_code == 200  # still signed in


def test_change_password_needs_the_old_one(client):
    user = UserFactory.create()
    client.force_login(user)
    response = client.post(
        reverse("accounts:password_change"),
        {"old_password": "wrong", "new_password1": NEW, "new_password2": NEW},
    )
    assert response.status_code == 200
    assert "old password was entered incorrectly" in response.content.decode()
