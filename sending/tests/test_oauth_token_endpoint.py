"""The token endpoint's answers, as sending.oauth reads them through authlib: in the words
users saw before, against a real HTTP server on loopback."""

from __future__ import annotations

import re
import urllib.parse
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from core.testing.http import JsonServer
from sending import oauth
from sending.models import SendingAccount
from sending.tests.factories import SendingAccountFactory, oauth2_account_fields

pytestmark = pytest.mark.django_db


class ScriptedTokenEndpoint(JsonServer):
    """Answers every POST with `status` and `reply`, and keeps the forms it was sent."""

    def __init__(self, status: int, reply: Any) -> None:
        self.status, self.reply = status, reply
        self.requests: list[dict[str, str]] = []
        self.refresh_token = "stored-refresh-token"
        super().__init__()
        self.url = f"{self.base_url}/token"

    def answer(self, path: str, body: bytes) -> tuple[int, Any]:
        self.requests.append(dict(urllib.parse.parse_qsl(body.decode())))
        return self.status, self.reply


def account_for(endpoint: Any) -> SendingAccount:
    return SendingAccountFactory.create(**oauth2_account_fields(endpoint))


@pytest.mark.parametrize(
    ("status", "reply", "words"),
    [
        (
            503,
            {"error": "temporarily_unavailable"},
            "refused the refresh (503 temporarily_unavailable)",
        ),
        (500, ["not", "an", "object"], "refused the refresh (500"),
        (401, {"error": "invalid_client"}, "refused the refresh (401 invalid_client)"),
        (400, {"error": "invalid_grant"}, "refused the grant (invalid_grant): connect the account"),
        (200, ["not", "an", "object"], "did not answer with a JSON object"),
        (200, {"token_type": "Bearer"}, "answered without an access token"),
    ],
)
def test_a_refused_or_strange_answer_is_told_in_words(status, reply, words):
    with ScriptedTokenEndpoint(status, reply) as endpoint:
        account = account_for(endpoint)
        with pytest.raises(oauth.OAuthError, match=re.escape(words)):
            oauth.refresh(account, timezone.now())
        assert len(endpoint.requests) == 1  # asked once: no retry behind the user's back


def test_the_refresh_sends_the_client_credentials_in_the_form():
    reply = {"access_token": "new-access", "expires_in": 600}
    with ScriptedTokenEndpoint(200, reply) as endpoint:
        account = account_for(endpoint)
        assert oauth.refresh(account, timezone.now()) == "new-access"
    [form] = endpoint.requests
    assert form == {
        "grant_type": "refresh_token",
        "refresh_token": "stored-refresh-token",
        "client_id": "client-id",
        "client_secret": "client-secret",
    }


def test_a_rotated_refresh_token_is_stored_encrypted_and_an_unrotated_one_left_alone():
    rotated = {"access_token": "new-access", "refresh_token": "rotated-refresh", "expires_in": 600}
    with ScriptedTokenEndpoint(200, rotated) as endpoint:
        account = account_for(endpoint)
        oauth.refresh(account, timezone.now())
    account.refresh_from_db()
    assert account.oauth_refresh_token == "rotated-refresh"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT oauth_refresh_token FROM sending_sendingaccount WHERE id = %s", [account.pk]
        )
        assert "rotated-refresh" not in cursor.fetchone()[0]  # ciphertext in the database

    with ScriptedTokenEndpoint(200, {"access_token": "again", "expires_in": 600}) as endpoint:
        account.oauth_token_endpoint = endpoint.url
        account.save(update_fields=["oauth_token_endpoint"])
        oauth.refresh(account, timezone.now())
    account.refresh_from_db()
    assert account.oauth_refresh_token == "rotated-refresh"
    assert account.oauth_access_token == "again"


def test_an_endpoint_that_is_gone_could_not_be_reached():
    with ScriptedTokenEndpoint(200, {}) as endpoint:
        account = account_for(endpoint)
    with pytest.raises(oauth.OAuthError, match="could not be reached: Connection refused"):
        oauth.refresh(account, timezone.now())


def test_a_large_answer_is_read_no_further_than_64_kib():
    reply = {"access_token": "x" * 70_000, "expires_in": 600}
    with ScriptedTokenEndpoint(200, reply) as endpoint:
        account = account_for(endpoint)
        with pytest.raises(oauth.OAuthError, match="did not answer with a JSON object"):
            oauth.refresh(account, timezone.now())
