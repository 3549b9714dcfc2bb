"""The replaying e-mail service double, driven by requests as anymail's backends drive it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from core.testing.http import ReplayServer, Reply, Request


@pytest.fixture
def server() -> Iterator[ReplayServer]:
    with ReplayServer() as replay:
        yield replay


def test_answers_with_the_recorded_reply_and_keeps_the_request(server, tmp_path: Path):
    recorded = tmp_path / "rate_limited.json"
    recorded.write_text(
        json.dumps({"status": 429, "headers": {"Retry-After": "30"}, "json": {"error": "slow"}})
    )
    server.play(Reply.from_file(recorded))
    answer = requests.post(f"{server.base_url}/v3/mail/send", json={"to": "a@x.test"}, timeout=5)
    assert (answer.status_code, answer.json()) == (429, {"error": "slow"})
    assert answer.headers["Retry-After"] == "30"
    assert answer.headers["Content-Type"] == "application/json"
    [asked] = server.requests
    assert (asked.method, asked.path, asked.json()) == ("POST", "/v3/mail/send", {"to": "a@x.test"})
    assert asked.headers["content-type"] == "application/json"


def test_a_plain_text_reply(server, tmp_path: Path):
    recorded = tmp_path / "auth_refused.json"
    recorded.write_text(json.dumps({"status": 401, "text": "Forbidden"}))
    server.play(Reply.from_file(recorded))
    answer = requests.post(server.base_url, data=b"x", timeout=5)
    assert (answer.status_code, answer.text) == (401, "Forbidden")
    assert answer.headers["Content-Type"].startswith("text/plain")


def test_an_answer_can_be_made_from_the_request(server):
    def echo(request: Request) -> Reply:
        return Reply(200, json.dumps({"To": request.json()["To"]}).encode())

    server.play(echo)
    answer = requests.post(server.base_url, json={"To": "b@x.test"}, timeout=5)
    assert answer.json() == {"To": "b@x.test"}


def test_drop_reads_the_request_and_closes_without_an_answer(server):
    server.drop()
    with pytest.raises(requests.ConnectionError):
        requests.post(server.base_url, json={"n": 1}, timeout=5)
    assert [r.json() for r in server.requests] == [{"n": 1}]


def test_stall_reads_the_request_and_answers_nothing(server):
    server.stall()
    with pytest.raises(requests.ReadTimeout):
        requests.post(server.base_url, json={"n": 2}, timeout=0.3)
    assert [r.json() for r in server.requests] == [{"n": 2}]
