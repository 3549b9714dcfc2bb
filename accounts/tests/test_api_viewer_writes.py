"""Viewers read and never write: every API route answers 403 to a viewer's write.

Like the tenancy walker, this walks the URL resolver, so a route added later is covered
without being listed. Ids are filled with objects of the viewer's own workspace (from the same
providers the tenancy walker uses), so a 404 cannot hide a missing permission check.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.urls import reverse

from accounts.models import Role
from conftest import api_key_client
from postroom.tests.test_tenancy import ROUTES, Route, providers

# Routes open to anyone, or reserved to platform managers (404 to a workspace key).
NOT_WORKSPACE_WRITES = {
    "api:login": "public: exchanges a password for tokens",
    "api:token_refresh": "public: exchanges a refresh token",
    "api:token_verify": "public: checks a token",
}
# POST actions that change nothing, open to viewers on purpose; their other methods still count.
READING_POSTS = {
    "api:segments-count-definition": "counts the recipients a definition matches, saves nothing",
    "api:template-check": "validates a template, saves nothing",
    "api:template-preview": "renders a template for one recipient, saves nothing",
}
PLATFORM = ("api:members", "api:staff", "api:non-staff", "api:platform-")
API_ROUTES = [
    r
    for r in ROUTES
    if r.name.startswith("api:")
    and r.name not in NOT_WORKSPACE_WRITES
    and not r.name.startswith(PLATFORM)
    and r.name not in ("api:schema", "api:docs")
]
WRITE_METHODS = ("post", "put", "patch", "delete")


@dataclass
class Home:
    workspace: Any
    owner: Any


def test_the_walk_covers_the_api():
    assert len(API_ROUTES) >= 3, API_ROUTES


@pytest.mark.parametrize("route", API_ROUTES, ids=str)
def test_a_viewer_key_gets_403_on_every_write(route: Route, personas, smtp_sink) -> None:
    available = providers()
    home = Home(workspace=personas.workspace, owner=personas.owner)
    url = reverse(route.name, kwargs={k: available[k](home) for k in route.kwargs})
    client = api_key_client(personas.workspace, Role.VIEWER, created_by=personas.owner)
    methods = [m for m in WRITE_METHODS if not (m == "post" and route.name in READING_POSTS)]
    statuses = {m: getattr(client, m)(url, {}, format="json").status_code for m in methods}
    assert set(statuses.values()) <= {403, 405}, f"{url}: {statuses}"
    if route.name not in READING_POSTS:  # a route that takes writes refuses them with 403
        assert 403 in statuses.values() or set(statuses.values()) == {405}, statuses
