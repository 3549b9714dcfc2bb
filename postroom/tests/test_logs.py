"""Structured log lines: LOG_FORMAT=json, one line per state change, batch and request."""

from __future__ import annotations

import io
import json
import logging
import logging.config
import subprocess
import sys
from copy import deepcopy
from typing import Any

import pytest
from django.conf import settings as django_settings

from campaigns.metrics import engine_batch_log
from campaigns.services import campaign_pause, campaign_start
from campaigns.tests.conftest import make_campaign


@pytest.fixture
def json_lines(settings):
    """The settings' own LOGGING with the json formatter, writing into a buffer."""
    stream = io.StringIO()
    config: dict[str, Any] = deepcopy(django_settings.LOGGING)
    config["handlers"]["console"]["formatter"] = "json"
    config["handlers"]["console"]["stream"] = stream
    logging.config.dictConfig(config)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        logging.config.dictConfig(django_settings.LOGGING)


def test_log_format_json_is_read_from_the_environment():
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='postroom.settings'; "
        "django.setup(); import logging; "
        "logging.getLogger('postroom.test').info('hello %s', 'there', extra={'job_id': 7})"
    )
    env = {"POSTROOM_DEVELOPMENT": "1", "LOG_FORMAT": "json", "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    line = json.loads(result.stderr.strip().splitlines()[-1])
    assert line["message"] == "hello there"
    assert line["level"] == "INFO"
    assert line["logger"] == "postroom.test"
    assert line["job_id"] == 7
    assert "time" in line


@pytest.mark.django_db(transaction=True)
def test_a_campaign_state_change_is_one_json_line(json_lines, personas, smtp_sink, settings):
    settings.SENDING_ALLOW_PRIVATE_HOSTS = True
    setup = make_campaign(personas.workspace, smtp_sink, n=2)
    campaign_start(campaign=setup.campaign)
    campaign_pause(campaign=setup.campaign)
    changes = [line for line in json_lines() if line.get("event") == "campaign.status"]
    assert [(c["previous"], c["status"]) for c in changes] == [
        ("draft", "running"),
        ("running", "paused"),
    ]
    assert changes[0]["campaign_id"] == setup.campaign.pk
    assert changes[0]["workspace_id"] == personas.workspace.pk


def test_the_engine_batch_line_carries_its_figures(json_lines):
    engine_batch_log(
        campaign_id=3,
        account_id=5,
        kind="campaign",
        claimed=10,
        sent=7,
        deferred=2,
        failed=1,
        claim_s=0.01,
        send_s=1.5,
        record_s=0.2,
    )
    (line,) = [line for line in json_lines() if line.get("event") == "engine.batch"]
    assert (line["claimed"], line["sent"], line["deferred"], line["failed"]) == (10, 7, 2, 1)
    assert line["send_seconds"] == 1.5
    assert line["logger"] == "postroom.engine"


def test_addresses_are_left_out_unless_allowed(json_lines, settings):
    log = logging.getLogger("postroom.test")
    settings.LOG_ADDRESSES = False
    log.info("refused %s", "anna@example.org", extra={"reply": "550 bob@example.net unknown"})
    settings.LOG_ADDRESSES = True
    log.info("refused %s", "anna@example.org")
    hidden, shown = json_lines()
    assert hidden["message"] == "refused <address>"
    assert hidden["reply"] == "550 <address> unknown"
    assert "example.org" not in json.dumps(hidden)
    assert shown["message"] == "refused anna@example.org"


@pytest.mark.django_db
def test_each_import_batch_is_one_line_and_counted(json_lines, personas, settings):
    from audience.metrics import IMPORT_ROWS
    from audience.tests.helpers import import_csv

    settings.AUDIENCE_BATCH_SIZE = 2
    before = IMPORT_ROWS._value.get()
    rows = "\n".join(f"person{i}@example.org" for i in range(5))
    job = import_csv(personas.workspace, "email\n" + rows + "\n")
    assert job.status == "done"
    batches = [line for line in json_lines() if line.get("event") == "import.batch"]
    assert [b["rows"] for b in batches] == [2, 2, 1]
    assert {b["job_id"] for b in batches} == {job.pk}
    assert sum(b["written"] for b in batches) == 5
    assert IMPORT_ROWS._value.get() - before == 5
    assert "example.org" not in json.dumps(batches)


@pytest.mark.django_db
def test_each_webhook_request_is_one_line_without_the_url_path(json_lines, personas, settings):
    from django.utils import timezone

    from webhooks import events as catalogue
    from webhooks.dispatch import run_webhook_step
    from webhooks.services import REQUESTS, outbox_add
    from webhooks.tests.factories import make_endpoint
    from webhooks.tests.receiver import start_receiver

    settings.SENDING_ALLOW_PRIVATE_HOSTS = True
    settings.WEBHOOK_SETTLE_SECONDS = 0
    receiver = start_receiver()
    try:
        receiver.statuses = [500]
        endpoint = make_endpoint(personas.workspace, receiver.url + "?token=s3cret")
        now = timezone.now()
        outbox_add(
            endpoint=endpoint,
            events=[catalogue.ping_event(workspace_id=personas.workspace.pk, at=now)],
            now=now,
        )
        failed_before = REQUESTS.labels("failed")._value.get()
        run_webhook_step()
    finally:
        receiver.close()
    (line,) = [line for line in json_lines() if line.get("event") == "webhook.request"]
    assert line["status_code"] == 500
    assert line["state"] == "pending"  # to be retried
    assert line["endpoint_id"] == endpoint.pk
    assert line["endpoint_host"] == "127.0.0.1"
    assert "s3cret" not in json.dumps(line)
    assert REQUESTS.labels("failed")._value.get() - failed_before == 1
