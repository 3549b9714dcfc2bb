"""A first import's batches go straight into the table; a batch in which an address already
exists is looked up and written as before, and counted the same.

Looking up the addresses of every batch cost a first import a fifth of the database's work
(6.3 of ~33 µs a row) to find nothing: while the batch before was all new, the unique
constraint is the judge instead (bulkwrite.copy_if_all_new)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audience.models import ImportRejection, Recipient
from audience.tests.helpers import import_csv

pytestmark = pytest.mark.django_db


def lookups(queries: CaptureQueriesContext) -> int:
    """The statements that looked a batch's addresses up (either mode's)."""
    marks = ("email = ANY(", "jsonb_array_elements(", '"email" IN (')
    return sum(
        1
        for q in queries.captured_queries
        if q["sql"].lstrip().upper().startswith("SELECT") and any(m in q["sql"] for m in marks)
    )


def addresses(*names: str) -> str:
    return "email\n" + "".join(f"{n}@example.com\n" for n in names)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY is PostgreSQL's")
@pytest.mark.parametrize("mode", ["add", "update"])
def test_a_first_import_writes_its_batches_without_looking_them_up(workspace, settings, mode):
    settings.AUDIENCE_BATCH_SIZE = 10
    with CaptureQueriesContext(connection) as queries:
        job = import_csv(workspace, addresses(*(f"p{i}" for i in range(25))), mode=mode)
    assert (job.imported, job.updated, job.duplicates, job.rejected) == (25, 0, 0, 0)
    assert Recipient.objects.filter(workspace=workspace).count() == 25
    assert lookups(queries) == 0


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        # imported, updated, unchanged, duplicates: "old" is present (add) or unchanged.
        ("add", (9, 0, 0, 2)),
        ("update", (9, 0, 1, 1)),
    ],
)
def test_a_batch_with_a_known_address_is_counted_as_before(workspace, settings, mode, expected):
    settings.AUDIENCE_BATCH_SIZE = 3
    Recipient.objects.create(workspace=workspace, email="old@example.com")
    # Batches: a b c | d a e | f old g | h i
    content = addresses("a", "b", "c", "d", "a", "e", "f", "old", "g", "h", "i")
    job = import_csv(workspace, content, mode=mode)
    assert (job.imported, job.updated, job.unchanged, job.duplicates) == expected
    stored = set(Recipient.objects.filter(workspace=workspace).values_list("email", flat=True))
    assert stored == {f"{n}@example.com" for n in "abcdefghi"} | {"old@example.com"}
    repeated = ImportRejection.objects.filter(job=job, duplicate=True)
    assert ("a@example.com", 6) in set(repeated.values_list("email", "line"))
