"""Django's database session store, with the read that every request makes written once.

Each request with a session cookie loads its session: through the ORM, a query compiled anew
each time (`Session.objects.get(...)`) for one column of one row. The same SELECT is written
here once; saving, deleting and the rest are Django's own.
"""

from __future__ import annotations

from typing import Any

from django.contrib.sessions.backends import db
from django.db import connections, router
from django.utils import timezone


class SessionStore(db.SessionStore):
    def load(self) -> dict[str, Any]:
        model = self.model
        connection = connections[router.db_for_read(model)]
        quote = connection.ops.quote_name
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {quote('session_data')} FROM {quote(model._meta.db_table)}"  # noqa: S608 - names only
                f" WHERE {quote('session_key')} = %s AND {quote('expire_date')} > %s",
                [self.session_key, timezone.now()],
            )
            row = cursor.fetchone()
        if row is None:  # expired, signed out, or never there: as Django's store answers
            self._session_key = None
            return {}
        data: dict[str, Any] = self.decode(row[0])
        return data
