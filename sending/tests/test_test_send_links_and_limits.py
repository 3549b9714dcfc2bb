"""Test sends carry working links that unsubscribe nobody, and count against the limits."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audience.models import Recipient, RecipientStatus, Suppression
from content.models import Template
from sending import quota
from sending.models import SendingAccount
from sending.tests.factories import SendingAccountFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def template(personas):
    return Template.objects.create(
        workspace=personas.workspace,
        name="Hello",
        subject="Hello {first_name|there}",
        html_body="<p>Hi {first_name|friend}</p><a href='{unsubscribe_url}'>Unsubscribe</a>"
        "<a href='{view_in_browser_url}'>View</a>",
        text_body="Hi {first_name|friend}\nUnsubscribe: {unsubscribe_url}\n"
        "View: {view_in_browser_url}\n",
    )


@pytest.fixture
def account(personas, smtp_sink):
    return SendingAccountFactory.create(
        workspace=personas.workspace,
        smtp_host=smtp_sink.host,
        smtp_port=smtp_sink.port,
        daily_limit=3,
        min_interval_seconds=3600,  # tests do not wait for it
    )


def _send(client, template, account, addresses):
    url = reverse("sending:template_test_send", kwargs={"template_id": template.pk})
    return client.post(url, {"account": account.pk, "addresses": addresses})


def _link(text: str, label: str) -> str:
    match = re.search(rf"{label}: (\S+)", text)
    assert match, text
    return re.sub(r"^https?://[^/]+", "", match.group(1))


def test_the_links_of_a_test_work_and_unsubscribe_nobody(
    personas, template, account, smtp_sink, editor_client, client
):
    ann = Recipient.objects.create(
        workspace=personas.workspace, email="ann@example.test", first_name="Ann"
    )
    _send(editor_client, template, account, "ann@example.test")
    [mail] = smtp_sink.wait_for(1)
    unsubscribe, view = _link(mail.text, "Unsubscribe"), _link(mail.text, "View")
    assert mail.message["List-Unsubscribe"].endswith(f"{unsubscribe}>")
    assert mail.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # A person opens the links, without signing in.
    page = client.get(unsubscribe)
    assert page.status_code == 200
    assert "unsubscribes nobody" in page.content.decode()
    shown = client.get(view)
    assert shown.status_code == 200
    assert "Hi Ann" in shown.content.decode()
    assert "script-src" not in shown["Content-Security-Policy"]
    # The mail provider's one-click POST, and the button: nothing changes.
    assert client.post(unsubscribe, {"List-Unsubscribe": "One-Click"}).status_code == 200
    ann.refresh_from_db()
    assert ann.status == RecipientStatus.ACTIVE
    assert not Suppression.objects.exists()


def test_a_tests_view_link_finds_its_recipient_through_the_address_index(
    personas, template, account, smtp_sink, editor_client, client
):
    """Recipients are stored lowercased: an address typed in capitals is found by equality on
    the unique (workspace, email) index, not by reading every recipient case aside."""
    Recipient.objects.create(
        workspace=personas.workspace, email="ann@example.test", first_name="Ann"
    )
    _send(editor_client, template, account, "ANN@Example.test")
    [mail] = smtp_sink.wait_for(1)

    with CaptureQueriesContext(connection) as queries:
        shown = client.get(_link(mail.text, "View"))

    assert "Hi Ann" in shown.content.decode()
    folded = [q["sql"] for q in queries if re.search(r"UPPER\(| LIKE ", q["sql"], re.I)]
    assert not folded, folded


def test_a_forged_or_campaign_token_is_not_a_test_link(client):
    assert client.get("/t/u/nonsense/").status_code == 404
    assert client.get("/t/v/nonsense:abc/").status_code == 404


def test_tests_count_against_the_daily_limit_without_waiting(
    personas, template, account, smtp_sink, editor_client
):
    first = _send(editor_client, template, account, "a@example.test, b@example.test")
    assert first.content.decode().count(">sent<") == 2
    account.refresh_from_db()
    day = quota.local_day(personas.workspace, account.last_sent_at or account.created_at)
    assert account.sent_on(day) == 2
    refused = _send(editor_client, template, account, "c@example.test, d@example.test")
    assert "No test was sent: the account&#x27;s daily limit leaves room for 1 more today" in (
        refused.content.decode()
    )
    assert len(smtp_sink.wait_for(2)) == 2, "nothing more was sent"
    assert _send(editor_client, template, account, "c@example.test").status_code == 200
    account.refresh_from_db()
    assert account.sent_today == 3


def test_a_refused_test_gives_its_room_back(personas, template, account, smtp_sink, editor_client):
    response = _send(editor_client, template, account, "nouser+1@example.test, ok@example.test")
    assert "not sent" in response.content.decode()
    assert SendingAccount.objects.get(pk=account.pk).sent_today == 1


def test_the_api_answers_409_when_no_room_is_left(personas, template, account, api_for):
    SendingAccount.objects.filter(pk=account.pk).update(
        sent_today=3, sent_day=quota.local_day(personas.workspace, _now())
    )
    response = api_for("editor").post(
        f"/api/templates/{template.pk}/test-send/",
        {"account_id": account.pk, "addresses": ["a@example.test"]},
        format="json",
    )
    assert response.status_code == 409, response.content
    assert "daily limit" in response.json()["error"]["message"]


def _now():
    from django.utils import timezone

    return timezone.now()
