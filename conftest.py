"""Shared test setup: a workspace with its personas, and the real SMTP and browser fixtures.

The personas follow healthchecks' hc/test.py: one workspace with an owner, an editor and a
viewer, and an outsider who owns another workspace, so access tests read naturally.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
from django.test import Client

if TYPE_CHECKING:  # the models load only once pytest-django has set Django up
    from accounts.models import User, Workspace

pytest_plugins = ["core.testing.fixtures", "core.testing.database_sessions"]


@dataclass
class Personas:
    workspace: Workspace
    owner: User
    editor: User
    viewer: User
    outsider: User
    other_workspace: Workspace


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttle counters and cached figures must not leak from one test into the next."""
    from django.core.cache import cache

    from campaigns import metrics
    from tracking import hits

    cache.clear()
    hits.forget()
    metrics.forget_kinds()  # campaign ids come back in the next test, maybe as another kind


@pytest.fixture(autouse=True)
def _engine_writers_closed():
    """An engine's writer thread keeps a database connection while busy: none outlives its
    test (a connection left open would block the test database's removal)."""
    from campaigns.engine.writer import Writer

    yield
    Writer.close_all()


@pytest.fixture(autouse=True)
def _english_again():
    """A request in Russian leaves Russian active in the thread (LocaleMiddleware activates
    the language and nothing deactivates it); the next test starts in English again."""
    from django.utils import translation

    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _fast_tests(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def every_migration_after():
    """For a test that moves the database along its migrations: whatever happens, the tests
    after it find the database at the latest ones again."""
    from core.testing.migrations import migrate_to_latest

    yield
    migrate_to_latest()


@pytest.fixture
def personas(db) -> Personas:
    from accounts.models import Role
    from accounts.tests.factories import MembershipFactory, WorkspaceFactory

    workspace = WorkspaceFactory.create(name="Acme")
    owner = MembershipFactory.create(
        workspace=workspace, role=Role.OWNER, user__email="owner@acme.test"
    )
    editor = MembershipFactory.create(
        workspace=workspace, role=Role.EDITOR, user__email="editor@acme.test"
    )
    viewer = MembershipFactory.create(
        workspace=workspace, role=Role.VIEWER, user__email="viewer@acme.test"
    )
    other = WorkspaceFactory.create(name="Globex")
    outsider = MembershipFactory.create(
        workspace=other, role=Role.OWNER, user__email="outsider@globex.test"
    )
    return Personas(
        workspace=workspace,
        owner=owner.user,
        editor=editor.user,
        viewer=viewer.user,
        outsider=outsider.user,
        other_workspace=other,
    )


def client_for(user: User) -> Client:
    """A test client signed in as `user` (force_login: axes needs a request for real logins)."""
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def owner_client(personas: Personas) -> Client:
    return client_for(personas.owner)


@pytest.fixture
def editor_client(personas: Personas) -> Client:
    return client_for(personas.editor)


@pytest.fixture
def viewer_client(personas: Personas) -> Client:
    return client_for(personas.viewer)


@pytest.fixture
def outsider_client(personas: Personas) -> Client:
    return client_for(personas.outsider)


def api_key_client(workspace: Workspace, role: str, created_by: User) -> Any:
    """An APIClient that authenticates with a fresh API key of `role` in `workspace`."""
    from rest_framework.test import APIClient

    from accounts.keys.services import api_key_create

    raw = api_key_create(
        workspace=workspace, name=f"{role} test key", role=role, created_by=created_by
    ).raw
    return APIClient(HTTP_X_API_KEY=raw)


@pytest.fixture
def api_for(personas: Personas) -> Any:
    """`api_for("editor")`: an API client with a key of that role in the personas' workspace."""

    def make(role: str) -> Any:
        return api_key_client(personas.workspace, role, created_by=personas.owner)

    return make
