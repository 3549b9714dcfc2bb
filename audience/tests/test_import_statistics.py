"""After an import, the audience tables' statistics describe them (PostgreSQL).

The campaign page counts its audience right after an import, in the request: planned on
statistics taken while the list was empty, that count can run quadratic (the launch had the
same fault, see campaigns/tests/test_launch_statistics.py). The import's end refreshes them.
"""

from __future__ import annotations

import contextlib

import pytest
from django.db import connection, transaction
from django.db.models import Model

from accounts.models import Workspace
from audience.models import ListMembership, Recipient, RecipientList
from audience.statistics import refresh_stale_statistics
from audience.tests.helpers import HEADER, import_csv

pytestmark = pytest.mark.django_db

ROWS = 3_000  # below the import's own re-analysis of recipients (5,000 rows)


def estimated_rows(model: type[Model]) -> float:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples FROM pg_class WHERE oid = to_regclass(%s)", [model._meta.db_table]
        )
        return float(cursor.fetchone()[0])


def test_an_import_leaves_statistics_that_count_its_rows(personas):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's planner statistics; SQLite's plans need none here")
    other = Workspace.objects.create(name="Earlier")
    Recipient.objects.create(workspace=other, email="early@example.test")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # statistics taken while the tables were nearly empty
    assert estimated_rows(ListMembership) < ROWS / 10

    people = RecipientList.objects.create(workspace=personas.workspace, name="Imported")
    lines = [HEADER] + [f"A{i},B,,p{i}@example.com,,,,," for i in range(ROWS)]
    job = import_csv(personas.workspace, "\n".join(lines) + "\n", recipient_list=people)
    assert job.status == "done", job.error

    assert ListMembership.objects.filter(recipient_list=people).count() == ROWS
    assert estimated_rows(ListMembership) >= ROWS * 0.9
    assert estimated_rows(Recipient) >= ROWS * 0.9
    assert refresh_stale_statistics() == []  # nothing left stale


def test_an_import_refreshes_statistics_over_dead_space_and_unflushed_counters(personas):
    """The table's pages are dead space of rolled-back rows, so the import does not double
    them, and its own change counters are not flushed while its transaction is open (as in
    a test, or for up to a second after a commit): the refresh counts the rows instead."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's planner statistics; SQLite's plans need none here")
    people = RecipientList.objects.create(workspace=personas.workspace, name="Imported")
    bloat = RecipientList.objects.create(workspace=personas.workspace, name="Rolled back")
    with contextlib.suppress(_RolledBack), transaction.atomic():
        recipients = Recipient.objects.bulk_create(
            Recipient(workspace=personas.workspace, email=f"gone{i}@example.com")
            for i in range(20_000)
        )
        ListMembership.objects.bulk_create(
            ListMembership(recipient=r, recipient_list=bloat) for r in recipients
        )
        raise _RolledBack
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # many pages, hardly a live row
    assert estimated_rows(ListMembership) < ROWS / 10

    lines = [HEADER] + [f"A{i},B,,p{i}@example.com,,,,," for i in range(ROWS)]
    job = import_csv(personas.workspace, "\n".join(lines) + "\n", recipient_list=people)
    assert job.status == "done", job.error

    assert estimated_rows(ListMembership) >= ROWS * 0.9
    assert estimated_rows(Recipient) >= ROWS * 0.9


class _RolledBack(Exception):
    pass
