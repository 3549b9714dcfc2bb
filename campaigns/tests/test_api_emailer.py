import pytest
from rest_framework.test import APIClient

from campaigns.workers.heartbeat import Heartbeat
from sending.models import AccountKind, SendingAccount
from sending.tests.factories import SendingAccountFactory

pytestmark = pytest.mark.django_db


def as_user(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_it_reports_what_is_missing(personas):
    SendingAccount.objects.filter(workspace=personas.workspace).delete()
    body = as_user(personas.viewer).get("/api/test/emailer/").json()
    assert body["ok"] is False
    assert body["workspace"] == "Acme"
    assert any("No active sending account" in p for p in body["problems"])
    assert any("No worker is running" in p for p in body["problems"])


def test_it_tests_the_accounts_live_and_sees_the_worker(personas, smtp_sink, settings):
    settings.SENDING_ALLOW_PRIVATE_HOSTS = True
    SendingAccount.objects.filter(workspace=personas.workspace).exclude(
        kind=AccountKind.CAPTURE
    ).delete()
    SendingAccountFactory.create(
        workspace=personas.workspace, smtp_host=smtp_sink.host, smtp_port=smtp_sink.port
    )
    Heartbeat("test-worker", kind="embedded").beat()
    body = as_user(personas.editor).get("/api/test/emailer/").json()
    assert body["problems"] == []
    assert body["ok"] is True
    assert all(row["test_ok"] for row in body["accounts"])
    assert body["workers"][0]["name"] == "test-worker"
    assert smtp_sink.messages == []  # a test connects and logs in; it sends nothing


def test_a_failing_account_is_named_in_the_problems(personas, smtp_sink, settings):
    settings.SENDING_ALLOW_PRIVATE_HOSTS = True
    smtp_sink.require_auth("user", "right")
    SendingAccountFactory.create(
        workspace=personas.workspace,
        smtp_host=smtp_sink.host,
        smtp_port=smtp_sink.port,
        smtp_username="user",
        smtp_password="wrong",
        from_email="bad@example.com",
    )
    Heartbeat("test-worker", kind="embedded").beat()
    body = as_user(personas.owner).get("/api/test/emailer/").json()
    assert body["ok"] is False
    assert any(p.startswith("bad@example.com:") for p in body["problems"])
    quick = as_user(personas.owner).get("/api/test/emailer/?live=false").json()
    assert all("test_ok" not in row for row in quick["accounts"])
