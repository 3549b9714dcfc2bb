import pytest
from axes.models import AccessLog
from django.urls import reverse

from accounts import services
from accounts.audit.models import AuditEntry
from accounts.tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def login(client, email, password=PASSWORD):
    return client.post(reverse("accounts:login"), {"username": email, "password": password})


def test_login_by_email_in_any_case_and_logout(client):
    UserFactory.create(email="ada@example.test")
    assert login(client, "ADA@example.test").status_code == 302
    assert client.get(reverse("accounts:profile")).status_code == 200
    assert client.post(reverse("accounts:logout")).status_code == 302
    assert client.get(reverse("accounts:profile")).status_code == 302


def test_a_sign_in_is_recorded_once_in_the_audit_log_and_not_by_axes(client):
    # axes' access log kept each sign-in's address and browser forever, beside the audit log
    user = UserFactory.create(email="ada@example.test")
    assert login(client, "ada@example.test").status_code == 302
    client.post(reverse("accounts:logout"))
    assert not AccessLog.objects.exists()
    assert AuditEntry.objects.filter(action="user.signed_in", actor=user).count() == 1


def test_a_wrong_password_says_so_and_counts_down_before_the_lock(client, settings):
    UserFactory.create(email="ada@example.test")
    first = login(client, "ada@example.test", "wrong")
    assert "The e-mail address or the password is wrong." in first.content.decode()
    assert "attempts left" not in first.content.decode()
    login(client, "ada@example.test", "wrong")
    third = login(client, "ada@example.test", "wrong")
    assert "2 attempts left before sign-in is locked for 15 minutes" in third.content.decode()


def test_repeated_failures_lock_sign_in_even_with_the_right_password(client, settings):
    UserFactory.create(email="ada@example.test")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        login(client, "ada@example.test", "wrong")

    locked = login(client, "ada@example.test")

    assert locked.status_code == 429
    body = locked.content.decode()
    assert "Too many failed sign-ins" in body
    assert "Try again in" in body
    assert "_auth_user_id" not in client.session


def test_the_lock_is_per_address_so_others_can_still_sign_in(client, settings):
    UserFactory.create(email="ada@example.test")
    UserFactory.create(email="bob@example.test")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        login(client, "ada@example.test", "wrong")
    assert login(client, "bob@example.test").status_code == 302


def test_a_blocked_user_is_told_so_only_with_the_right_password(client):
    admin = UserFactory.create(is_superuser=True)
    user = UserFactory.create(email="ada@example.test")
    services.user_block(user=user, by=admin, reason="spam")

    wrong = login(client, "ada@example.test", "wrong")
    assert "blocked" not in wrong.content.decode()
    right = login(client, "ada@example.test")
    assert right.status_code == 200
    assert "This account is blocked." in right.content.decode()


def test_blocking_ends_an_open_session(client):
    admin = UserFactory.create(is_superuser=True)
    user = UserFactory.create()
    client.force_login(user)
    assert client.get(reverse("accounts:profile")).status_code == 200

    services.user_block(user=user, by=admin)

    assert client.get(reverse("accounts:profile")).status_code == 302


def test_pages_need_a_signed_in_user(client):
    response = client.get(reverse("dashboard"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))


def test_changing_the_case_of_the_address_does_not_dodge_the_lock(client, settings):
    UserFactory.create(email="ada@example.test")
    spellings = ["ada@example.test", "ADA@example.test", "Ada@Example.Test"]
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        login(client, spellings[attempt % len(spellings)], "wrong")
    assert login(client, "aDa@example.test").status_code == 429
