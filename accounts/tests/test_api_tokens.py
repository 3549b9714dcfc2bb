"""JWTs: refresh tokens rotate and work once; a password change or a block revokes every token;
errors read as words, never as Python's repr."""

import threading
from datetime import timedelta

import jwt
import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import AccessToken

from accounts import services as account_services
from accounts.models import Role
from accounts.tests.factories import PASSWORD, MembershipFactory, UserFactory
from conftest import client_for
from core.testing.sql import compiled_by_the_orm, lookups, statements
from postroom.housekeeping import housekeeping

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "another-long-passphrase-2"


@pytest.fixture
def member(db):
    return MembershipFactory.create(role=Role.EDITOR, user__email="ada@example.test")


def login(email="ada@example.test", password=PASSWORD):
    response = APIClient().post("/api/login/", {"email": email, "password": password})
    assert response.status_code == 200, response.content
    return response.json()


def me(access: str):
    return APIClient(HTTP_AUTHORIZATION=f"Bearer {access}").get("/api/me/")


def refresh(token: str):
    return APIClient().post("/api/token/refresh/", {"refresh": token})


def verify(token: str):
    return APIClient().post("/api/token/verify/", {"token": token})


def test_a_refresh_token_works_once_and_each_refresh_gives_a_new_one(member):
    first = login()["refresh"]
    answer = refresh(first)
    assert answer.status_code == 200
    second = answer.json()["refresh"]
    assert second != first
    assert me(answer.json()["access"]).status_code == 200

    again = refresh(first)
    assert again.status_code == 401
    assert again.json()["error"]["message"] == "Token is blacklisted"
    assert again.json()["error"]["code"] == "token_not_valid"
    assert refresh(second).status_code == 200


def change_password_in_the_ui(user):
    client = client_for(user)
    response = client.post(
        reverse("accounts:password_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302


def change_password_by_a_superuser_in_the_admin(user):
    root = UserFactory.create(is_superuser=True, is_staff=True)
    response = client_for(root).post(
        reverse("admin:auth_user_password_change", args=[user.pk]),
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 302


def change_password_by_any_other_path(user):
    user.set_password(NEW_PASSWORD)  # e.g. manage.py changepassword: no service is called
    user.save()


@pytest.mark.parametrize(
    "change",
    [
        change_password_in_the_ui,
        change_password_by_a_superuser_in_the_admin,
        change_password_by_any_other_path,
    ],
)
def test_a_password_change_revokes_every_token_of_the_user(member, change):
    tokens = login()
    other = MembershipFactory.create(user__email="bob@example.test")
    bystander = login("bob@example.test")
    assert me(tokens["access"]).status_code == 200

    change(member.user)

    refused = me(tokens["access"])
    assert refused.status_code == 401
    assert refused.json()["error"] == {
        "status": 401,
        "code": "token_revoked",
        "message": "This token was revoked (the password changed or the account was blocked). "
        "Sign in again.",
    }
    assert refresh(tokens["refresh"]).status_code == 401
    assert verify(tokens["access"]).status_code == 401
    assert verify(tokens["refresh"]).status_code == 401
    # Nothing else changed: another user's tokens work, and the new password gives new ones.
    assert me(bystander["access"]).status_code == 200
    assert other.user.is_active
    assert me(login(password=NEW_PASSWORD)["access"]).status_code == 200


def test_a_block_revokes_tokens_for_good_even_after_unblocking(member):
    tokens = login()
    root = UserFactory.create(is_superuser=True)
    account_services.user_block(user=member.user, by=root)
    assert refresh(tokens["refresh"]).status_code == 401

    account_services.user_unblock(user=member.user, by=root)
    assert me(tokens["access"]).json()["error"]["code"] == "token_revoked"
    assert refresh(tokens["refresh"]).status_code == 401
    assert me(login()["access"]).status_code == 200


def test_revoking_blacklists_every_outstanding_refresh_token(member):
    for _ in range(3):
        login()
    assert OutstandingToken.objects.filter(user=member.user).count() == 3
    account_services.user_revoke_tokens(user=member.user)
    assert BlacklistedToken.objects.filter(token__user=member.user).count() == 3
    member.user.refresh_from_db()
    assert member.user.token_generation == 1


def test_a_token_signed_with_the_old_constant_development_key_is_refused(member):
    """Until now the repository's own key signed tokens whenever DEBUG was unset."""
    old_key = "postroom-development-only-secret-key-do-not-use-in-production-0123456789"
    forged = jwt.encode(
        {"token_type": "access", "exp": 4102444800, "jti": "x", "user_id": str(member.user.pk)},
        old_key,
        algorithm="HS256",
    )
    response = me(forged)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "token_not_valid"


def test_token_errors_read_as_words_not_python_reprs(member):
    response = me("not-a-token")
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["message"] == "Given token not valid for any token type"
    assert error["code"] == "token_not_valid"
    assert "ErrorDetail" not in response.content.decode()


def test_housekeeping_removes_expired_refresh_tokens_and_keeps_live_ones(member):
    login()
    login()
    account_services.user_revoke_tokens(user=member.user)  # blacklisted: rows to clean up too
    live = login()["refresh"]
    expired = OutstandingToken.objects.filter(user=member.user).order_by("id")[:2]
    OutstandingToken.objects.filter(id__in=[t.id for t in expired]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )

    assert housekeeping()["expired_tokens"] == 2
    assert OutstandingToken.objects.filter(user=member.user).count() == 1
    assert not BlacklistedToken.objects.exists()
    assert refresh(live).status_code == 200


def test_a_block_through_the_users_api_is_recorded_and_revokes_tokens(member):
    tokens = login()
    root = UserFactory.create(is_superuser=True, is_staff=True)
    api = APIClient()
    api.force_authenticate(root)
    response = api.patch(f"/api/members/{member.user.pk}/", {"is_active": False})
    assert response.status_code == 200
    member.user.refresh_from_db()
    assert not member.user.is_active
    assert member.user.blocked_by == root
    assert member.user.blocked_at is not None

    api.patch(f"/api/members/{member.user.pk}/", {"is_active": True})
    assert me(tokens["access"]).json()["error"]["code"] == "token_revoked"
    assert refresh(tokens["refresh"]).status_code == 401


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="concurrent requests need PostgreSQL's row locks"
)
@pytest.mark.django_db(transaction=True)
def test_two_refreshes_with_one_token_at_once_give_one_new_token():
    MembershipFactory.create(role=Role.EDITOR, user__email="ada@example.test")
    for _ in range(5):
        token = login()["refresh"]
        barrier = threading.Barrier(2)
        statuses: list[int] = []

        def go(token=token, barrier=barrier, statuses=statuses) -> None:
            try:
                barrier.wait()
                statuses.append(refresh(token).status_code)
            finally:
                connection.close()

        threads = [threading.Thread(target=go) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(statuses) == [200, 401]


def test_a_tokens_user_is_read_by_a_query_compiled_once(member):
    """Every API call with a token reads its user: compiled once (core.compiled), and a
    token whose user id is not a number is refused, not an error."""
    client = APIClient(HTTP_AUTHORIZATION=f"Bearer {login()['access']}")
    client.get("/api/me/")  # the first request compiles it
    assert lookups(statements(client, "/api/me/"), "accounts_user", "id")
    assert lookups(compiled_by_the_orm(client, "/api/me/"), "accounts_user", "id") == []

    for claim in ("not-a-number", "²"):  # "²".isdigit(), and int() refuses it
        forged = AccessToken.for_user(member.user)
        forged["user_id"] = claim
        assert me(str(forged)).status_code == 401
