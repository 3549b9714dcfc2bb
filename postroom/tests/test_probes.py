import pytest
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder


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
    assert response.json() == {"status": "ok", "database": "ok", "migrations": "applied"}


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
