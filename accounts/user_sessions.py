"""A user's signed-in sessions: recorded at sign-in, listed on the profile page, ended there.

Ending a session deletes it from Django's session store, so the browser holding its cookie is
signed out at its next request; the `UserSession` row only describes it for the list.
"""

from __future__ import annotations

import ipaddress
import logging
from datetime import timedelta
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from accounts.audit import services as audit
from accounts.models import User, UserSession
from core.client_ip import client_ip

audit_log = logging.getLogger("accounts.audit")

# How often a request may move a session's "last seen": a write per minute, not per request.
TOUCH_EVERY = timedelta(minutes=1)
SEEN_KEY = "postroom.seen"


def truncate_ip(address: str) -> str:
    """The network of an address (IPv4 /24, IPv6 /48), as shown and stored; '' if unreadable."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return ""
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def session_record(*, request: HttpRequest, user: User) -> UserSession | None:
    """Record (or refresh) the request's session as one of the user's; None without a key."""
    key = request.session.session_key
    if not key:
        return None
    now = timezone.now()
    row, _created = UserSession.objects.update_or_create(
        session_key=key,
        defaults={
            "user": user,
            "user_agent": request.headers.get("User-Agent", "")[:300],
            "ip_network": truncate_ip(client_ip(request)),
            "last_seen_at": now,
        },
    )
    request.session[SEEN_KEY] = now.timestamp()
    return row


def session_touch(*, request: HttpRequest, user: User) -> None:
    """Move the session's "last seen" at most once a minute (the time is kept in the session
    itself, so the other requests cost nothing)."""
    seen = request.session.get(SEEN_KEY)
    now = timezone.now()
    if isinstance(seen, float) and now.timestamp() - seen < TOUCH_EVERY.total_seconds():
        return
    session_record(request=request, user=user)


def user_sessions(user: User) -> QuerySet[UserSession]:
    """The user's sessions that still exist, most recently seen first."""
    return UserSession.objects.filter(user=user, session_key__in=_live_session_keys(user)).order_by(
        "-last_seen_at", "-pk"
    )


def _live_session_keys(user: User) -> list[str]:
    keys = list(UserSession.objects.filter(user=user).values_list("session_key", flat=True))
    store = _store_class()
    return [key for key in keys if _belongs_to(store(key), user)]


def _belongs_to(session: SessionBase, user: User) -> bool:
    # A row may outlive its session (expired, signed out) and the key may, in theory, be
    # reused: show only sessions still signed in as this user.
    data: dict[str, Any] = session.load()
    return str(data.get("_auth_user_id", "")) == str(user.pk)


def user_session_get(user: User, session_id: int) -> UserSession | None:
    """One of the user's own sessions by id; None for another user's (the view answers 404)."""
    return UserSession.objects.filter(user=user, pk=session_id).first()


@transaction.atomic
def session_end(*, session: UserSession) -> None:
    """Delete the session from the store (its browser is signed out) and its row."""
    _store_class()(session.session_key).delete(session.session_key)
    session.delete()
    audit_log.info("session.ended user=%s session=%s", session.user_id, session.pk)
    audit.record("user.session_ended", target_label=session.user_agent[:200])


def sessions_end_others(*, user: User, keep_key: str | None) -> int:
    """End every session of the user but `keep_key` (the caller's own); the number ended.

    Sessions made before they were recorded (no row) cannot be listed, but after a password
    change Django's session hash check signs them out all the same.
    """
    ended = 0
    for session in UserSession.objects.filter(user=user).exclude(session_key=keep_key or ""):
        session_end(session=session)
        ended += 1
    if ended:
        audit_log.info("session.ended_others user=%s count=%s", user.pk, ended)
        audit.record("user.sessions_ended", target=user, count=ended)
    return ended


def _store_class() -> type[SessionBase]:
    store: type[SessionBase] = import_module(settings.SESSION_ENGINE).SessionStore
    return store
