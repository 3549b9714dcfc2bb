"""Searching and sorting the recipients table, and searching the suppression list, with a
million entries each (PostgreSQL).

Fills one workspace with N recipients and S suppressions (one generate_series statement each,
kept between runs), then times the first page as the UI and the API read it:

- recipients: a search by a fragment (`?q=`) that matches a few rows and one that matches
  many; the table sorted by each sortable column (selectors.SORTABLE);
- suppressions: a search by a rare and a common part of an address, and by a whole one.

The reference, measured in the same run: the same searches with the trigram index dropped
inside a transaction that is rolled back (what every search cost before it).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postroom_bench_search \
        .venv/bin/python bench/bench_search.py --recipients 1000000 --suppressions 1000000

Last line: RESULT recipients=… search_rare_ms=… search_common_ms=… ref_rare_ms=… …
suppressions=… blocked_rare_ms=… blocked_common_ms=… blocked_whole_ms=… ref_blocked_rare_ms=…
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench_database import prepare_database  # noqa: E402 -- beside this script
from timing import best_ms  # noqa: E402 -- beside this script

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "postroom.settings")

WORKSPACE = "Bench search"
PG_FILL = """
    INSERT INTO audience_recipient (workspace_id, email, first_name, last_name, company,
        country, city, comment, status, fields, created_at, updated_at)
    SELECT %s, 'person' || i || '@example' || (i %% 100) || '.com', 'First' || i,
        (ARRAY['Smith','Jones','Brown','Taylor','Wilson','Davies','Evans','Thomas'])[1 + i %% 8]
            || (i %% 1000),
        'Company ' || (i %% 5000) || ', Ltd', 'Country ' || (i %% 50), 'City ' || (i %% 700),
        '', 'active', '{}', now() - i * interval '1 second', now() - i * interval '1 second'
    FROM generate_series(0, %s - 1) AS i
"""
# "rson123456" matches one recipient; "smith12" matches about 1 in 800 (Smith12, Smith120..129).
SEARCHES = {"rare": "rson123456", "common": "smith12"}
PG_BLOCK = """
    INSERT INTO audience_suppression (workspace_id, email, reason, source, created_at)
    SELECT %s, 'blocked' || i || '@mail' || (i %% 100) || '.example', 'bounced', '',
        now() - i * interval '1 second'
    FROM generate_series(0, %s - 1) AS i
"""
# "ked123456@" matches one entry; "mail12." about 1 in 100; a whole address is looked up.
BLOCKED = {"rare": "ked123456@", "common": "mail12.", "whole": "blocked4242@mail42.example"}


def fill(n: int) -> Any:
    from django.db import connection

    from accounts.models import Workspace
    from audience.models import Recipient

    workspace = Workspace.objects.filter(name=WORKSPACE).first()
    if workspace is not None and Recipient.objects.filter(workspace=workspace).count() == n:
        return workspace
    if workspace is not None:
        workspace.delete()
    workspace = Workspace.objects.create(name=WORKSPACE)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(PG_FILL, [workspace.pk, n])
        cursor.execute("ANALYZE audience_recipient")
    print(f"inserted {n:,} recipients in {time.perf_counter() - started:.1f} s")
    return workspace


def block(workspace: Any, n: int) -> None:
    """The workspace's suppression list: `n` entries, made once."""
    from django.db import connection

    from audience.models import Suppression

    if Suppression.objects.filter(workspace=workspace).count() == n:
        return
    Suppression.objects.filter(workspace=workspace).delete()
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(PG_BLOCK, [workspace.pk, n])
        cursor.execute("ANALYZE audience_suppression")
    print(f"inserted {n:,} suppressions in {time.perf_counter() - started:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipients", type=int, default=1_000_000)
    parser.add_argument("--suppressions", type=int, default=1_000_000)
    args = parser.parse_args()
    db = prepare_database("bench_search", drop_postgres=False, drop_sqlite=False)
    if db != "postgresql":
        sys.exit("bench_search needs PostgreSQL (DATABASE_URL): the trigram indexes are PG's")

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    from audience import selectors

    call_command("migrate", "--noinput", verbosity=0)
    workspace = fill(args.recipients)
    block(workspace, args.suppressions)

    def first_page(q: str = "", sort: str = "email") -> int:
        qs = selectors.recipients_matching(workspace, selectors.RecipientFilter(q=q))
        return len(selectors.recipients_page(qs, sort=sort, descending=False, cursor="").rows)

    def blocked_page(q: str) -> int:
        qs = selectors.suppressions_matching(selectors.suppressions_of(workspace), q)
        return len(qs[:50])

    figures: dict[str, float] = {}
    for name, term in BLOCKED.items():
        figures[f"blocked_{name}_ms"] = best_ms(functools.partial(blocked_page, term))
        print(f"suppressions {term!r}: {blocked_page(term)} entr(ies) on the first page")
    for name, term in SEARCHES.items():
        figures[f"search_{name}_ms"] = best_ms(functools.partial(first_page, term))
        print(f"search {term!r}: {first_page(term)} row(s) on the first page")
    for sort in selectors.SORTABLE:
        figures[f"sort_{sort}_ms"] = best_ms(functools.partial(first_page, sort=sort))
    with transaction.atomic():  # the reference: no trigram index, rolled back
        with connection.cursor() as cursor:
            cursor.execute("DROP INDEX recipient_search_trgm")
            cursor.execute("DROP INDEX suppression_email_trgm")
        for name, term in SEARCHES.items():
            figures[f"ref_{name}_ms"] = best_ms(functools.partial(first_page, term))
        for name in ("rare", "common"):
            figures[f"ref_blocked_{name}_ms"] = best_ms(
                functools.partial(blocked_page, BLOCKED[name])
            )
        transaction.set_rollback(True)
    for key, value in figures.items():
        print(f"{key:24} {value:9.1f}")
    fields = " ".join(f"{k}={v:.1f}" for k, v in figures.items())
    print(f"RESULT recipients={args.recipients} suppressions={args.suppressions} {fields} db={db}")


if __name__ == "__main__":
    main()
