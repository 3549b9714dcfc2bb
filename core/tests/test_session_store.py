"""core.sessions: Django's database store, whose read is written once, reads what Django's
writes and forgets what Django's would."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.sessions.backends import db
from django.contrib.sessions.models import Session
from django.utils import timezone

from core.sessions import SessionStore

pytestmark = pytest.mark.django_db


def test_a_session_saved_by_django_reads_back_the_same():
    saved = db.SessionStore()
    saved["_auth_user_id"] = "7"
    saved["postroom.workspace_id"] = 3
    saved["text"] = "Привет, ’quotes’ & <markup>"
    saved.save()
    read = SessionStore(saved.session_key)
    assert dict(read.items()) == dict(db.SessionStore(saved.session_key).items())
    assert read["text"] == "Привет, ’quotes’ & <markup>"
    assert read.session_key == saved.session_key


def test_an_expired_or_unknown_session_reads_empty_and_loses_its_key():
    saved = SessionStore()
    saved["_auth_user_id"] = "7"
    saved.save()
    Session.objects.filter(session_key=saved.session_key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    for key in (saved.session_key, "no-such-session-key-0123456789ab"):
        read = SessionStore(key)
        assert dict(read.items()) == {}
        assert read.session_key is None  # a new one is made if it is saved, as Django does
