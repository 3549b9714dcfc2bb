"""The tenancy walker: every route, asked for another workspace's objects, answers 404.

It walks the URL resolver, so a route added by any app is covered without being listed here.
For routes with ids it fills each keyword argument with an object of a foreign workspace (from
the providers in each app's tests/tenancy.py) and expects 404 (405 for a method the route does
not take); routes without ids must not show anything of the foreign workspace.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.apps import apps
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts.keys.services import api_key_create
from accounts.models import Role
from accounts.tests.factories import MembershipFactory, UserFactory, WorkspaceFactory
from conftest import client_for

MARKER = "foreignmark"

# Routes that are not workspace data, each with the reason it is left out of the walk.
EXEMPT = {
    "health": "process probe, no data",
    "ready": "database probe, no data",
    "accounts:verify_email": "a signed token bound to one user, tested in test_signup",
    "accounts:password_reset_confirm": "Django's reset token, tested in test_passwords",
    "accounts:invitation_accept": "a secret token bound to one address, tested in test_workspaces",
    "accounts:logout": "ends the caller's own session",
    "tracking:unsubscribe": "a signed per-delivery token for recipients, tested in tracking",
    "tracking:view": "a signed per-delivery token for recipients, tested in tracking",
    "tracking:open": "a signed per-delivery token for recipients, tested in tracking",
    "tracking:click": "a signed per-delivery token and its campaign's link, tested in tracking",
    "tracking:test_unsubscribe": "a signed token of one test message, tested in sending",
    "tracking:test_view": "a signed token of one test message, tested in sending",
    "subscribe:form": "a sign-up form's public page by its random key, tested in subscriptions",
    "subscribe:challenge": "a public form's ALTCHA challenge, tested in subscriptions",
    "subscribe:style": "a public form's colours, tested in subscriptions",
    "subscribe:confirm": "a signed token of one sign-up, tested in subscriptions",
    "api:signup-subscribe": "a public form's sign-up by its random key, tested in subscriptions",
    "api:signup-confirm": "a signed token of one sign-up, tested in subscriptions",
    "preferences:page": "a signed per-delivery token for recipients, tested in subscriptions",
    "preferences:test": "a signed token of one test message, tested in subscriptions",
    "api:preferences": "a signed per-delivery token for recipients, tested in subscriptions",
    "archive:index": "a workspace's public archive by its random key, tested in archive",
    "archive:feed": "a workspace's public archive feed by its random key, tested in archive",
    "archive:campaign": "a campaign of the archive under its workspace's key, tested in archive",
    "content_image": "a public library image by its content hash, 404 under another workspace's "
    "id: tested in content/tests/test_images.py",
}
EXEMPT_NAMESPACES = {"admin": "Django's admin: superusers only, who may see everything"}


@dataclass(frozen=True)
class Route:
    name: str
    kwargs: tuple[str, ...]

    def __str__(self) -> str:
        return self.name


def _walk(patterns: list[Any], namespace: str = "") -> Iterator[Route]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            ns = entry.namespace or ""
            full = f"{namespace}:{ns}".strip(":") if ns else namespace
            yield from _walk(entry.url_patterns, full)
        elif isinstance(entry, URLPattern) and entry.name:
            name = f"{namespace}:{entry.name}" if namespace else entry.name
            # path() routes name their kwargs by converters, re_path() ones (DRF's routers)
            # by regex groups.
            kwargs = getattr(entry.pattern, "converters", {}) or entry.pattern.regex.groupindex
            yield Route(name, tuple(sorted(kwargs)))


def all_routes() -> list[Route]:
    routes = {r.name: r for r in _walk(get_resolver().url_patterns)}
    return sorted(
        (
            r
            for r in routes.values()
            if r.name not in EXEMPT and r.name.split(":")[0] not in EXEMPT_NAMESPACES
        ),
        key=str,
    )


def providers() -> dict[str, Any]:
    found: dict[str, Any] = {}
    for config in apps.get_app_configs():
        try:
            module = importlib.import_module(f"{config.name}.tests.tenancy")
        except ModuleNotFoundError:
            continue
        found.update(module.PROVIDERS)
    return found


@dataclass
class Foreign:
    workspace: Any
    owner: Any


@pytest.fixture
def home(db):
    workspace = WorkspaceFactory.create(name="Home")
    return MembershipFactory.create(workspace=workspace, role=Role.OWNER).user


@pytest.fixture
def foreign(db, smtp_sink) -> Foreign:
    workspace = WorkspaceFactory.create(name=f"Globex {MARKER}")
    owner = UserFactory.create(email=f"{MARKER}-owner@example.test")
    MembershipFactory.create(workspace=workspace, user=owner, role=Role.OWNER)
    return Foreign(workspace=workspace, owner=owner)


ROUTES = all_routes()
ID_ROUTES = [r for r in ROUTES if r.kwargs]
PLAIN_ROUTES = [r for r in ROUTES if not r.kwargs]


def test_the_walker_sees_the_routes():
    # A walker that walked nothing would pass everything: make sure it found the app's routes.
    names = {r.name for r in ROUTES}
    assert {"dashboard", "accounts:settings", "accounts:member_remove"} <= names
    assert len(ID_ROUTES) >= 5


def callers(route: Route, home: Any) -> list[Client]:
    """The home owner through the session; for API routes also through an owner's API key."""
    clients = [client_for(home)]
    if route.name.startswith("api:"):
        raw = api_key_create(
            workspace=home.memberships.get().workspace,
            name="home key",
            role=Role.OWNER,
            created_by=home,
        ).raw
        clients.append(Client(HTTP_X_API_KEY=raw))
    return clients


WRITE_METHODS = ("post", "put", "patch", "delete")


@pytest.mark.parametrize("route", ID_ROUTES, ids=str)
def test_foreign_ids_answer_404(route, home, foreign):
    available = providers()
    missing = [k for k in route.kwargs if k not in available]
    assert not missing, (
        f"{route.name} takes {missing}: add a provider to its app's tests/tenancy.py"
    )
    url = reverse(route.name, kwargs={k: available[k](foreign) for k in route.kwargs})
    for client in callers(route, home):
        statuses = {m: getattr(client, m)(url).status_code for m in ("get", *WRITE_METHODS)}
        assert set(statuses.values()) <= {404, 405}, f"{url}: {statuses}"
        assert 404 in statuses.values(), f"{url}: {statuses}"


@pytest.mark.parametrize("route", PLAIN_ROUTES, ids=str)
def test_pages_show_nothing_of_another_workspace(route, home, foreign):
    for provide in providers().values():
        provide(foreign)  # every kind of foreign object exists while the page renders
    for client in callers(route, home):
        response = client.get(reverse(route.name))
        assert response.status_code in (200, 302, 404, 405), response.status_code
        body = response.getvalue()  # also for downloads (CSV exports) that stream their body
        assert MARKER not in body.decode().lower()
