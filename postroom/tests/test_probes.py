from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from campaigns.models import WorkerHeartbeat


@pytest.mark.django_db
def test_health_answers_without_touching_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_ready_checks_the_database_and_the_migrations(client):
    response = client.get("/ready")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "migrations": "applied",
        "workers": "none",
    }


@pytest.mark.django_db(transaction=True)
def test_ready_answers_503_while_a_migration_is_missing(client):
    recorder = MigrationRecorder(connection)
    latest = recorder.migration_qs.filter(app="accounts").order_by("-id").first()
    assert latest is not None
    recorder.record_unapplied("accounts", latest.name)
    try:
        response = client.get("/ready")
    finally:
        recorder.record_applied("accounts", latest.name)
    assert response.status_code == 503
    assert response.json()["pending_migrations"] == 1


@pytest.mark.django_db
def test_ready_says_a_worker_is_behind_when_none_was_seen_for_a_minute(client):
    old = timezone.now() - timedelta(seconds=61)
    WorkerHeartbeat.objects.create(name="host-1:11", kind="embedded", seen_at=old)
    response = client.get("/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["database"] == "ok"
    assert body["workers"] == "behind"
    assert body["workers_behind"] == ["host-1:11"]

    # A fresh worker is enough: the stale one (crashed, replaced) is named, not fatal.
    WorkerHeartbeat.objects.create(name="host-2:12", kind="celery", seen_at=timezone.now())
    response = client.get("/ready")
    assert response.status_code == 200
    assert response.json()["workers"] == "ok"
    assert response.json()["workers_behind"] == ["host-1:11"]


@pytest.mark.django_db
def test_ready_checks_the_broker_when_celery_is_configured(client, settings):
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{port}/9"
    from postroom.celery import app

    original = app.conf.broker_url
    app.conf.broker_url = settings.CELERY_BROKER_URL
    try:
        response = client.get("/ready")
        assert response.status_code == 503
        assert response.json()["broker"] == "error"

        settings.CELERY_BROKER_URL = app.conf.broker_url = "redis://127.0.0.1:6379/9"
        response = client.get("/ready")
        assert response.json()["broker"] == "ok"
        assert response.status_code == 200
    finally:
        app.conf.broker_url = original
