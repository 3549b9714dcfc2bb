"""CSV import speed and the recipients page with a million recipients.

Generates a CSV with the djangoMailer columns (first_name, last_name, company, email, country,
city, free_field1..3), imports it into an empty workspace through the same services and
worker step the app uses, re-imports it in "add and update" mode, times a segment count over
all recipients and the recipients page's server time (first page and a page deep inside).

    make bench-import                                   # SQLite under var/bench/, 1,000,000 rows
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postroom_bench_import make bench-import
    .venv/bin/python bench/bench_import.py --rows 100000

With DATABASE_URL set to PostgreSQL that database is used (created when missing); otherwise a
fresh SQLite file. Last line: RESULT rows=… rows_per_s=… peak_rss_mb=… db=…; on PostgreSQL also
db_floor_rows_per_s and ratio, against the reference measured in the same run: PostgreSQL
alone writing the same rows into a copy of the table with its indexes, on as many connections
as the import writes with (IMPORT_WRITERS, `database_floor`).
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench_database import prepare_database, production_settings  # noqa: E402 -- beside this script
from processes import CpuMeter, database_backends  # noqa: E402 -- beside this script

production_settings("bench-import")

BENCH_WORKSPACE = "Bench import"
BENCH_USER = "bench-import@example.com"
HEADER = "first_name,last_name,company,email,country,city,free_field1,free_field2,free_field3\n"
COUNTRIES = ("USA", "UK", "Germany", "France", "Spain", "Italy", "Poland", "Brazil")
CITIES = ("New York", "London", "Berlin", "Paris", "Madrid", "Rome", "Warsaw", "São Paulo")


def generate(path: Path, rows: int) -> None:
    """Write the CSV in blocks, so generating it does not weigh on the memory figure."""
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(HEADER)
        block = 10_000
        for start in range(0, rows, block):
            out.write(
                "".join(
                    f'First{i},Last{i},"Company {i % 5000}, Ltd",person{i}@example{i % 100}.com,'
                    f"{COUNTRIES[i % 8]},{CITIES[i % 8]},{'VIP' if i % 10 == 0 else 'Standard'},"
                    f"Plan{i % 3},Q{i % 4 + 1}-2025\n"
                    for i in range(start, min(start + block, rows))
                )
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    db = prepare_database("bench_import", drop_postgres=False, drop_sqlite=True)

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", "--noinput", verbosity=0)
    from core import heap

    heap.settle()  # as a worker does once started: the import runs here, in this process
    run(args.rows, db)


def run(rows: int, db: str) -> None:
    from django.conf import settings
    from django.core.files import File

    from audience import jobs, selectors, services
    from audience.importer import auto_mapping
    from audience.models import AudienceJob, Recipient

    settings.AUDIENCE_IMPORT_MAX_BYTES = 10**12
    workspace, owner = fresh_workspace()

    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "recipients.csv"
        started = time.perf_counter()
        generate(csv_path, rows)
        size_mb = csv_path.stat().st_size / 1e6
        print(
            f"generated {rows:,} rows ({size_mb:.0f} MB) in {time.perf_counter() - started:.1f} s"
        )

        def import_file(mode: str) -> tuple[float, AudienceJob]:
            with csv_path.open("rb") as handle:
                job = services.import_upload(
                    workspace=workspace, user=owner, upload=File(handle, name="recipients.csv")
                )
            keys = dict(workspace.custom_fields.values_list("key", "label"))
            mapping = auto_mapping(job.params["header"], keys)
            services.import_start(
                job=job, mapping=mapping, new_fields={}, mode=mode, recipient_list=None
            )
            began, cpu = time.perf_counter(), time.process_time()
            with database_cpu() as database:
                jobs.run_next_job()
            elapsed = time.perf_counter() - began
            print(
                f"CPU, importer ({mode}): {(time.process_time() - cpu) / rows * 1e6:.0f} µs/row, "
                f"PostgreSQL backends: {database.total() / rows * 1e6:.0f} µs/row"
            )
            job.refresh_from_db()
            return elapsed, job

        seconds, job = import_file("add")
        rate = rows / seconds
        print(
            f"import (add new):       {seconds:7.2f} s  {rate:10,.0f} rows/s  "
            f"status={job.status} imported={job.imported:,} rejected={job.rejected}"
        )
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        floor = database_floor(workspace.pk, rows)
        vacuum()
        re_seconds, rejob = import_file("update")
        print(
            f"re-import (add+update): {re_seconds:7.2f} s  {rows / re_seconds:10,.0f} rows/s  "
            f"status={rejob.status} updated={rejob.updated:,}"
        )

    assert Recipient.objects.filter(workspace=workspace).count() == rows
    vacuum()
    definition = {
        "match": "all",
        "conditions": [
            {"field": "country", "op": "equals", "value": "UK"},
            {
                "match": "any",
                "conditions": [
                    {"field": "field:free_field1", "op": "equals", "value": "VIP"},
                    {"field": "city", "op": "starts_with", "value": "Lon"},
                ],
            },
        ],
    }
    began = time.perf_counter()
    count = selectors.segment_count(workspace, definition)
    segment_s = time.perf_counter() - began
    print(f"segment count:          {segment_s:7.3f} s  ({count:,} recipients)")
    page_times(owner)
    reference = f" db_floor_rows_per_s={floor:.0f} ratio={rate / floor:.2f}" if floor else ""
    print(
        f"RESULT rows={rows} rows_per_s={rate:.0f} peak_rss_mb={peak_mb:.0f} db={db} "
        f"reimport_s={re_seconds:.1f} segment_count_s={segment_s:.3f}{reference}"
    )


@contextmanager
def database_cpu() -> Iterator[CpuMeter]:
    """The CPU of this database's PostgreSQL backends (the importer's, its writer thread's)
    while the block runs, sampled from a thread with a connection of its own (not counted);
    nothing on SQLite."""
    from django.db import connection

    meter, done = CpuMeter(), threading.Event()

    def sample() -> None:
        try:
            while True:
                meter.read(database_backends())
                if done.wait(0.2):
                    meter.read(database_backends())
                    return
        finally:
            connection.close()

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        yield meter
    finally:
        done.set()
        sampler.join()


def database_floor(workspace_id: int, rows: int) -> float:
    """The reference, measured in the same run: how fast PostgreSQL alone writes the rows just
    imported into a copy of the recipients' table with all its indexes, by INSERT … SELECT (no
    client, no parsing, no conflict check), on as many connections at once as the import
    writes with (IMPORT_WRITERS), each a share of the rows. An import cannot beat it while
    the table keeps those indexes. Also timed on one connection, and into a copy without
    indexes, to show their share. 0 on SQLite."""
    from django.conf import settings
    from django.db import connection

    if connection.vendor != "postgresql":
        return 0.0
    writers = settings.IMPORT_WRITERS
    timings: dict[str, float] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE UNLOGGED TABLE bench_floor_source AS "
            "SELECT * FROM audience_recipient WHERE workspace_id = %s",
            [workspace_id],
        )
        for name, like, width in (
            ("parallel", "INCLUDING ALL", writers),
            ("indexed", "INCLUDING ALL", 1),
            ("bare", "INCLUDING DEFAULTS", 1),
        ):
            cursor.execute(f"CREATE TABLE bench_floor_{name} (LIKE audience_recipient {like})")
            timings[name] = _insert_shares(f"bench_floor_{name}", width)
            cursor.execute(f"DROP TABLE bench_floor_{name}")
        cursor.execute("DROP TABLE bench_floor_source")
    parallel, indexed, bare = (timings[n] / rows * 1e6 for n in ("parallel", "indexed", "bare"))
    print(
        f"reference, PostgreSQL alone: {1e6 / parallel:10,.0f} rows/s into a copy of the table "
        f"on {writers} connection(s) ({1e6 / indexed:,.0f} on one: {indexed:.1f} µs/row; "
        f"{bare:.1f} without its indexes)"
    )
    return 1e6 / parallel


def _insert_shares(table: str, width: int) -> float:
    """Seconds to copy bench_floor_source into `table` by `width` connections at once."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    def share(k: int) -> None:
        try:
            with connection.cursor() as cursor:  # this thread's own connection
                cursor.execute(
                    f"INSERT INTO {table} SELECT * FROM bench_floor_source "  # noqa: S608 - ours
                    "WHERE id %% %s = %s",
                    [width, k],
                )
        finally:
            connection.close()

    began = time.perf_counter()
    with ThreadPoolExecutor(width) as pool:
        list(pool.map(share, range(width)))
    return time.perf_counter() - began


def fresh_workspace() -> tuple[Any, Any]:
    """An empty workspace with an owner; earlier benchmark workspaces are removed first."""
    from django.db import transaction

    from accounts.models import Membership, Role, User, Workspace
    from audience import services
    from audience.models import Recipient

    for old in Workspace.objects.filter(name=BENCH_WORKSPACE):
        # A raw delete: the ORM's cascade would load a million recipients to delete them.
        Recipient.objects.filter(workspace=old)._raw_delete(Recipient.objects.db)
        old.delete()
    User.objects.filter(email=BENCH_USER).delete()
    vacuum()
    with transaction.atomic():
        workspace = Workspace.objects.create(name=BENCH_WORKSPACE)
        services.workspace_initialize(workspace=workspace)
        owner = User.objects.create(email=BENCH_USER)
        Membership.objects.create(workspace=workspace, user=owner, role=Role.OWNER)
    return workspace, owner


def vacuum() -> None:
    """VACUUM ANALYZE the recipients on PostgreSQL, as autovacuum would between the phases.

    Servers set up for tests often run with autovacuum off; without this the dead rows of
    the previous run and stale statistics would be measured instead of the import.
    """
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE audience_recipient")


def page_times(owner: Any) -> None:
    from django.conf import settings
    from django.test import Client, override_settings

    # Django's test client calls itself "testserver"; and the pages name static files through
    # the plain storage, as `collectstatic` has not been run for the compressed manifest (nor
    # for WhiteNoise, which says so once).
    warnings.filterwarnings("ignore", "No directory at", UserWarning)
    plain = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    storages = {**settings.STORAGES, "staticfiles": plain}
    with override_settings(ALLOWED_HOSTS=["testserver"], STORAGES=storages):
        _time_pages(Client(), owner)


def _time_pages(client: Any, owner: Any) -> None:
    client.force_login(owner)
    for label, query in (
        ("first page", ""),
        ("search", "?q=person99999"),
        ("sorted by city", "?sort=city&dir=desc"),
    ):
        client.get(f"/recipients/{query}")  # warm
        began = time.perf_counter()
        response = client.get(f"/recipients/{query}")
        elapsed = time.perf_counter() - began
        print(f"recipients page ({label}): {elapsed * 1000:7.1f} ms  status={response.status_code}")


if __name__ == "__main__":
    main()
