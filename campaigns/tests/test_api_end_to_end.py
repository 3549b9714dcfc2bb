"""The API from end to end, as a client uses it: log in with a JWT, import a CSV into a list,
write a template, add an SMTP account aimed at the SMTP test server and test it, create a
campaign, send it, let the engine work while polling `stats/`, then read what the server got.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.tests.factories import PASSWORD
from audience.jobs import run_next_job
from campaigns.engine.step import run_engine_step

pytestmark = pytest.mark.django_db

# The importer refuses special-use domains such as .test, as it would in real use.
PEOPLE = [(f"reader{i}@example.com", f"Reader{i}") for i in range(12)]


def ok(response: Any, code: int = 200) -> Any:
    assert response.status_code == code, (response.status_code, response.content[:500])
    return response.json()


def logged_in(email: str) -> APIClient:
    client = APIClient()
    tokens = ok(client.post("/api/login/", {"email": email, "password": PASSWORD}))
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    return client


def import_csv(api: APIClient, list_id: int) -> dict[str, Any]:
    lines = ["email,first_name", *(f"{email},{name}" for email, name in PEOPLE)]
    upload = io.BytesIO("\n".join(lines).encode())
    upload.name = "readers.csv"
    job = ok(
        api.post("/api/imports/", {"file": upload, "list_id": list_id}, format="multipart"), 201
    )
    while run_next_job():  # the worker's audience step
        pass
    return dict(ok(api.get(f"/api/imports/{job['id']}/")))


def test_log_in_import_write_send_and_read_what_the_server_received(personas, smtp_sink):
    api = logged_in(personas.owner.email)

    reader_list = ok(api.post("/api/lists/", {"name": "Readers"}, format="json"), 201)
    job = import_csv(api, reader_list["id"])
    assert (job["status"], job["imported"], job["rejected"]) == ("done", len(PEOPLE), 0)

    template = ok(
        api.post(
            "/api/templates/",
            {
                "name": "Issue 1",
                "subject": "Issue 1 for {first_name}",
                "html_body": "<p>Dear {first_name|reader},</p><p>The news.</p>"
                '<p><a href="{unsubscribe_url}">Unsubscribe</a></p>',
                "text_from_html": True,
            },
            format="json",
        ),
        201,
    )
    account = ok(
        api.post(
            "/api/email-accounts/",
            {
                "name": "Test server",
                "from_email": "news@acme.test",
                "kind": "smtp",
                "smtp_host": smtp_sink.host,
                "smtp_port": smtp_sink.port,
                "smtp_security": "none",
                "daily_limit": 1000,
                "min_interval_seconds": 0,
            },
            format="json",
        ),
        201,
    )
    tested = ok(api.post(f"/api/email-accounts/{account['id']}/test-connection/"))
    assert (tested["success"], tested["status"]) == (True, "active")

    campaign = ok(
        api.post(
            "/api/campaigns/",
            {
                "name": "Issue 1",
                "template_id": template["id"],
                "list_ids": [reader_list["id"]],
                "account_ids": [account["id"]],
            },
            format="json",
        ),
        201,
    )
    url = f"/api/campaigns/{campaign['id']}/"
    assert ok(api.get(f"{url}estimate/"))["reachable"] == len(PEOPLE)
    # 202, launching: the worker's first step creates the deliveries, then sends.
    assert ok(api.post(f"{url}send/"), 202)["status"] == "launching"

    polls = []
    for _ in range(100):
        run_engine_step()
        stats = ok(api.get(f"{url}stats/"))
        polls.append((stats["status"], stats["counts"]["sent"]))
        if stats["status"] == "completed":
            break
    assert stats["status"] == "completed", polls
    assert (stats["counts"]["sent"], stats["percent"], stats["waiting"]) == (len(PEOPLE), 100, 0)

    received = smtp_sink.wait_for(len(PEOPLE))
    by_address = {m.rcpt_tos[0]: m for m in received}
    assert sorted(by_address) == sorted(email for email, _ in PEOPLE)
    assert len(received) == len(PEOPLE)  # one message per recipient
    for email, name in PEOPLE:
        message = by_address[email]
        assert message.subject == f"Issue 1 for {name}"
        assert f"Dear {name}," in (message.text or "")
        assert (message.header("List-Unsubscribe") or "").startswith("<https://")
        assert message.header("List-Unsubscribe-Post") == "List-Unsubscribe=One-Click"

    deliveries = ok(api.get("/api/deliveries/", {"campaign_id": campaign["id"]}))["results"]
    assert {d["status"] for d in deliveries} == {"sent"}
    assert {d["message_id"] for d in deliveries} == {m.message_id for m in received}
