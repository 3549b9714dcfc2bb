"""An address is one person however a service spells it: events keep it lowercased, as
recipients and suppressions do, and every lookup of an address reads an index by it.

A service's report about no delivery of ours ("ANN@Example.TEST": the delivery is older than
TRACKING_ESP_MATCH_DAYS) kept the service's spelling: its suppression stopped nobody, the
recipient was not marked, and erasure and the privacy export read every event of the
workspace with UPPER(email) to find it.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audience.models import Suppression
from core.testing.migrations import migrate
from tracking import selectors, services
from tracking.esp.receive import match
from tracking.models import Event, EventKind
from tracking.tests.reporting import happened
from tracking.tests.test_esp_webhooks import make_setup

SPELLED = "ANN@Example.TEST"


def _folds_case(sql: str) -> bool:
    """Whether `sql` compares case aside as iexact does (no index answers it): UPPER(…) on
    PostgreSQL, LIKE on SQLite."""
    return "UPPER(" in sql.upper() or " LIKE " in sql.upper()


@pytest.mark.django_db
def test_a_services_address_finds_its_delivery_by_the_address_index(personas):
    setup = make_setup(personas.workspace, "postmark")
    event = SimpleNamespace(metadata={}, message_id=None, recipient=SPELLED)

    with CaptureQueriesContext(connection) as queries:
        found = match(setup.account, event)

    assert found == setup.delivery
    [sql] = [q["sql"] for q in queries]
    assert "LOWER(" in sql.upper(), sql
    assert not _folds_case(sql), sql


@pytest.mark.django_db
def test_erasure_and_the_export_find_events_by_their_lowercased_address(personas):
    setup = make_setup(personas.workspace, "postmark")
    happened(setup.delivery, EventKind.OPENED, timezone.now())

    with CaptureQueriesContext(connection) as queries:
        exported = selectors.person_events(workspace=personas.workspace, email=SPELLED)
    assert [e["kind"] for e in exported["events"]] == ["opened"]
    assert not [q for q in queries if _folds_case(q["sql"])], queries.captured_queries

    with CaptureQueriesContext(connection) as queries:
        assert services.events_erase(workspace=personas.workspace, email=SPELLED) == 1
    assert not [q for q in queries if _folds_case(q["sql"])], queries.captured_queries
    assert not Event.objects.exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("every_migration_after")
def test_events_and_suppressions_stored_in_another_case_are_lowercased(personas):
    setup = make_setup(personas.workspace, "postmark")
    happened(setup.delivery, EventKind.BOUNCED, timezone.now())
    Event.objects.update(email=SPELLED)
    workspace, other = personas.workspace, personas.other_workspace
    Suppression.objects.bulk_create(
        [
            Suppression(workspace=workspace, email=SPELLED, reason="bounced"),
            Suppression(workspace=workspace, email="Ann@example.test", reason="complained"),
            Suppression(workspace=other, email="Bob@Example.test", reason="bounced"),
            Suppression(workspace=other, email="bob@example.test", reason="complained"),
        ]
    )

    migrate([("tracking", "0010_event_account_filled")])
    migrate([("tracking", "0011_event_address_lowercased")])

    assert list(Event.objects.values_list("email", flat=True)) == ["ann@example.test"]
    kept = Suppression.objects.order_by("workspace_id", "email")
    assert list(kept.values_list("workspace_id", "email", "reason")) == [
        (workspace.pk, "ann@example.test", "bounced"),  # the first spelling stays
        (other.pk, "bob@example.test", "complained"),  # the lowercased one was there
    ]
