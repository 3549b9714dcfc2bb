"""Shared test setup: a workspace with its personas, and the real SMTP and browser fixtures.

The personas follow healthchecks' hc/test.py: one workspace with an owner, an editor and a
viewer, and an outsider who owns another workspace, so access tests read naturally.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest
from django.test import Client

os.environ.setdefault("POSTROOM_TESTING", "1")

pytest_plugins = ["postroom.testing.fixtures"]


@dataclass
class Personas:
    workspace: object
    owner: object
    editor: object
    viewer: object
    outsider: object
    other_workspace: object


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttle counters and cached figures must not leak from one test into the next."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _fast_tests(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


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


def client_for(user) -> Client:
    """A test client signed in as `user` (force_login: axes needs a request for real logins)."""
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def owner_client(personas) -> Client:
    return client_for(personas.owner)


@pytest.fixture
def editor_client(personas) -> Client:
    return client_for(personas.editor)


@pytest.fixture
def viewer_client(personas) -> Client:
    return client_for(personas.viewer)


@pytest.fixture
def outsider_client(personas) -> Client:
    return client_for(personas.outsider)
