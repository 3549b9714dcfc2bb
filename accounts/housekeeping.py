"""Housekeeping of sign-ins: expired refresh tokens leave simplejwt's outstanding list, and
ended sessions the profile's list of sessions.

Every sign-in and every refresh (they rotate) records a refresh token, and revocations
blacklist them; once expired, a token is refused by its expiry alone, so its rows (and its
blacklist entry, with it) go, in small chunks so that the worker's step stays short.
"""

from __future__ import annotations

from datetime import datetime
from importlib import import_module

from django.conf import settings
from django.contrib.sessions.backends import db
from django.contrib.sessions.models import Session
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from accounts.models import UserSession

CHUNK = 2_000


def purge_expired_tokens(*, now: datetime, chunk: int = CHUNK) -> int:
    """Delete refresh tokens past their expiry; returns how many went."""
    removed = 0
    while True:
        ids = list(
            OutstandingToken.objects.filter(expires_at__lt=now)
            .order_by("id")
            .values_list("id", flat=True)[:chunk]
        )
        if not ids:
            return removed
        OutstandingToken.objects.filter(id__in=ids).delete()
        removed += len(ids)


def purge_ended_sessions(*, now: datetime) -> int:
    """Delete the rows of the sessions list whose session is gone (expired, signed out);
    returns how many went. Only the database session store can be asked in one query."""
    if not issubclass(import_module(settings.SESSION_ENGINE).SessionStore, db.SessionStore):
        return 0
    live = Session.objects.filter(expire_date__gte=now).values("session_key")
    removed, _ = UserSession.objects.exclude(session_key__in=live).delete()
    return removed
