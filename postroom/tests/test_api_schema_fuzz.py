"""Schemathesis against the app's own OpenAPI document: no 500, no response off the schema.

Every operation of /api/schema/ gets a bounded number of generated requests
(POSTROOM_SCHEMA_EXAMPLES, 12 by default; derandomized so a failure reproduces), sent through
the WSGI application with a real owner API key of a workspace that holds one object of each
kind, so that ids in paths sometimes exist. Each response is checked: not a server error,
a documented content type, and a body that matches the documented schema.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from accounts.keys.services import api_key_create
from accounts.models import Role

EXAMPLES = int(os.environ.get("POSTROOM_SCHEMA_EXAMPLES", "12"))
PUBLIC = ("/api/login/", "/api/token/")  # answer 401 for made-up credentials, by design
CHECKS = [not_a_server_error, content_type_conformance, response_schema_conformance]

schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))
schema.app = get_wsgi_application()


@pytest.fixture
def owner_key(personas, request) -> Iterator[str]:
    # Hundreds of calls in a few seconds are the point here, not something to throttle.
    django_settings = request.getfixturevalue("settings")  # `settings` is hypothesis's here
    api = django_settings.REST_FRAMEWORK
    rates = dict.fromkeys(api["DEFAULT_THROTTLE_RATES"], "1000000/min")
    django_settings.REST_FRAMEWORK = {**api, "DEFAULT_THROTTLE_RATES": rates}
    # The WSGI handler closes the database connection after each request, which would end the
    # test's transaction on PostgreSQL; Django's own test client holds the same signal back.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield api_key_create(
            workspace=personas.workspace, name="fuzz", role=Role.OWNER, created_by=personas.owner
        ).raw
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def test_the_schema_lists_the_resources():
    # A fuzzer over an empty schema would pass everything.
    paths = set(schema.raw_schema["paths"])
    assert {"/api/me/", "/api/members/", "/api/test/emailer/"} <= paths
    assert len(paths) >= 8, sorted(paths)


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_operation_answers_500_or_breaks_its_schema(case: Any, owner_key: str) -> None:
    # Each example in a savepoint rolled back after it, so examples do not see each other's rows.
    with transaction.atomic():
        response = case.call_and_validate(headers={"X-API-Key": owner_key}, checks=CHECKS)
        transaction.set_rollback(True)
    if not case.path.startswith(PUBLIC):  # the key really opened the API
        assert response.status_code != 401, response.text
