"""Helpers for the audience's API tests: a JWT client, and checks of the error shape."""

from __future__ import annotations

import codecs
from typing import Any

from rest_framework.test import APIClient

from accounts.tests.factories import PASSWORD


def jwt_client(user: Any) -> APIClient:
    """An APIClient that logged in through /api/login/ and sends the access token."""
    client = APIClient()
    response = client.post("/api/login/", {"email": user.email, "password": PASSWORD})
    assert response.status_code == 200, response.content
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['access']}")
    return client


def error_of(response: Any, status: int) -> dict[str, Any]:
    """The body's error, after checking the status and the shape every API error has."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    error: dict[str, Any] = response.json()["error"]
    assert error["status"] == status
    assert error["code"]
    assert error["message"]
    return error


def field_messages(response: Any, *path: str) -> str:
    """Every message of a 400 under the nested field `path`, joined (for `in` checks)."""
    node: Any = error_of(response, 400)["fields"]
    for name in path:
        node = node[name]
    return " ".join(item["message"] for item in node)


def streamed_text(response: Any) -> str:
    """The whole body of a streamed download (CSV), decoded; it starts with a UTF-8 BOM."""
    assert response.status_code == 200, response.status_code
    data = b"".join(response.streaming_content)
    assert data.startswith(codecs.BOM_UTF8)  # spreadsheets read it as UTF-8
    return data.decode("utf-8-sig")
