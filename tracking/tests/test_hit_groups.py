"""Opens and clicks answered in groups (tracking.batch, tracking.recorder) and in front of
Django (postroom.hit_front): the same answers and events as one by one through Django, every
answered hit committed before its answer, nothing answered lost when the database fails."""

from __future__ import annotations

import threading
from datetime import timedelta
from io import BytesIO
from typing import Any

import pytest
from django.db import DatabaseError, connection
from django.test import Client, override_settings
from django.utils import timezone

from audience.models import Recipient
from campaigns import links
from campaigns.models import Delivery
from postroom.hit_front import HitFront
from postroom.metrics import REQUEST_SECONDS
from tracking import batch, hits, recorder
from tracking.models import Event, EventKind
from tracking.tests.test_opens_clicks import PERSON, send

SALE = "https://shop.example/sale?x=1&y=2"


def sent_an_hour_ago(personas: Any, smtp_sink: Any) -> Delivery:
    send(personas.workspace, smtp_sink)
    Delivery.objects.update(sent_at=timezone.now() - timedelta(hours=1))
    hits.forget()
    return Delivery.objects.get()


def ask(delivery_id: int, index: int | None = None, *, record: bool = True) -> batch.Ask:
    return batch.Ask(delivery_id, index, PERSON, "203.0.113.9", timezone.now(), record)


# --- one group ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_group_answers_each_hit_and_stores_its_events_in_one_insert(
    personas, smtp_sink, django_assert_num_queries
):
    delivery = sent_an_hour_ago(personas, smtp_sink)
    group = [
        ask(delivery.pk),  # an open
        ask(delivery.pk, 0),  # a click on the first link
        ask(delivery.pk, 1),  # the second link at once: a scanner
        ask(delivery.pk + 1000),  # no such delivery
        ask(delivery.pk, 7),  # no such link
        ask(delivery.pk, record=False),  # a HEAD of the pixel
        ask(delivery.pk, 0, record=False),  # a HEAD of a link
    ]
    hits.frozen_of(delivery.campaign_id)  # kept per process
    # the deliveries with their recent hits, the INSERT; and what the personalised link reads as
    # one by one (its recipient, workspace and custom fields)
    with django_assert_num_queries(5):
        answers = batch.answer(group)
    assert [(a.found, a.url) for a in answers] == [
        (True, ""),
        (True, SALE),
        (True, f"https://shop.example/for?name={Recipient.objects.get().first_name}"),
        (False, ""),
        (False, ""),
        (True, ""),
        (True, SALE),
    ]
    events = list(Event.objects.order_by("id"))
    assert [(e.kind, e.link_index, e.machine) for e in events] == [
        (EventKind.OPENED, None, False),
        (EventKind.CLICKED, 0, False),
        (EventKind.CLICKED, 1, True),  # saw the click before it in the same group
    ]
    assert {e.ip for e in events} == {"203.0.113.0"}  # truncated as the workspace says
    assert {(e.delivery_id, e.account_id) for e in events} == {(delivery.pk, delivery.account_id)}
    assert delivery.account_id is not None


@pytest.mark.django_db
def test_a_click_in_a_group_sees_the_hits_already_stored(personas, smtp_sink):
    delivery = sent_an_hour_ago(personas, smtp_sink)
    batch.answer([ask(delivery.pk, 0)])
    batch.answer([ask(delivery.pk, 1)])  # a later group, within the burst window
    assert list(Event.objects.order_by("id").values_list("link_index", "machine")) == [
        (0, False),
        (1, True),
    ]


@pytest.mark.django_db
def test_a_group_and_the_django_views_record_the_same_events(personas, smtp_sink):
    delivery = sent_an_hour_ago(personas, smtp_sink)
    token = links.token_for(delivery.pk)
    client = Client(HTTP_USER_AGENT=PERSON, REMOTE_ADDR="203.0.113.9")
    client.get(f"/o/{token}/")
    client.get(f"/c/{token}/0")
    client.get(f"/c/{token}/1")
    fields = (
        "kind", "link_index", "url", "machine", "ip", "user_agent", "email", "campaign_id",
        "account_id",
    )  # fmt: skip
    one_by_one = list(Event.objects.order_by("id").values_list(*fields))
    Event.objects.all().delete()
    batch.answer([ask(delivery.pk), ask(delivery.pk, 0), ask(delivery.pk, 1)])
    assert list(Event.objects.order_by("id").values_list(*fields)) == one_by_one
    assert [row[3] for row in one_by_one] == [False, False, True]


# --- the writer thread ----------------------------------------------------------------------


@pytest.fixture
def writer():
    made: list[recorder.Recorder] = []

    def make(
        answerer: recorder.Answerer = batch.answer, wait: float = recorder.WAIT_SECONDS
    ) -> recorder.Recorder:
        made.append(recorder.Recorder(answerer, wait=wait))
        return made[-1]

    yield make
    for one in made:
        one.stop()  # closes the writer's connection, so the test database can go


@pytest.mark.django_db(transaction=True)
def test_hits_waiting_together_go_in_one_group_and_each_is_recorded_once(
    personas, smtp_sink, writer
):
    delivery = sent_an_hour_ago(personas, smtp_sink)
    release = threading.Event()
    groups: list[int] = []

    def gated(asks):
        groups.append(len(asks))
        if len(groups) == 1:
            release.wait()  # the first group holds the writer while the others queue
        return batch.answer(asks)

    hit_writer = writer(gated)
    answers: list[batch.Answer] = []

    def hit(index: int | None) -> None:
        answers.append(hit_writer.ask(ask(delivery.pk, index)))

    first = threading.Thread(target=hit, args=(None,))
    first.start()
    while not groups:  # the writer has taken the first hit
        threading.Event().wait(0.01)
    others = [threading.Thread(target=hit, args=(None,)) for _ in range(9)]
    for thread in others:
        thread.start()
    while hit_writer.waiting() < 9:
        threading.Event().wait(0.01)
    release.set()
    for thread in [first, *others]:
        thread.join()
    assert groups == [1, 9]
    assert len(answers) == 10
    assert all(a.found for a in answers)
    assert Event.objects.filter(kind=EventKind.OPENED).count() == 10


@pytest.mark.django_db(transaction=True)
def test_a_hit_is_answered_after_its_event_is_committed(personas, smtp_sink, writer):
    delivery = sent_an_hour_ago(personas, smtp_sink)
    answer = writer().ask(ask(delivery.pk, 0))
    assert answer.url == SALE
    # this thread's own connection, not the writer's: it sees committed rows only
    assert connection.in_atomic_block is False
    assert Event.objects.filter(kind=EventKind.CLICKED, delivery_id=delivery.pk).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_failed_group_answers_none_of_its_hits_and_the_next_one_works(
    personas, smtp_sink, writer
):
    delivery = sent_an_hour_ago(personas, smtp_sink)
    calls: list[int] = []

    def failing_once(asks):
        calls.append(len(asks))
        if len(calls) == 1:
            raise DatabaseError("the server closed the connection unexpectedly")
        return batch.answer(asks)

    hit_writer = writer(failing_once)
    with pytest.raises(recorder.Unrecorded):
        hit_writer.ask(ask(delivery.pk))
    assert not Event.objects.exists()
    assert hit_writer.ask(ask(delivery.pk)).found
    assert Event.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_hit_whose_group_hangs_is_answered_unrecorded(personas, smtp_sink, writer):
    delivery = sent_an_hour_ago(personas, smtp_sink)
    release = threading.Event()

    def hanging(asks):
        release.wait()
        return batch.answer(asks)

    hit_writer = writer(hanging, wait=0.05)  # the group is held until after the answer
    with pytest.raises(recorder.Unrecorded):
        hit_writer.ask(ask(delivery.pk))
    release.set()


# --- in front of Django ---------------------------------------------------------------------


def call(
    app: Any, path: str, method: str = "GET", **environ: Any
) -> tuple[int, dict[str, str], bytes]:
    found: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        found["status"] = int(status.split()[0])
        found["headers"] = dict(headers)

    env = {
        "REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": "",
        "SERVER_NAME": "testserver", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "203.0.113.9",
        "HTTP_USER_AGENT": PERSON, "wsgi.url_scheme": "http", "wsgi.input": BytesIO(),
        "wsgi.errors": BytesIO(), "HTTP_HOST": "testserver", **environ,
    }  # fmt: skip
    body = b"".join(app(env, start_response))
    return found["status"], found["headers"], body


def django_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("299 Django", [("X-Django", "1")])
    return [b"django"]


@pytest.fixture
def front():
    """The front with a group of one answered in the test's own thread and transaction."""
    return HitFront(django_app, ask=lambda one: batch.answer([one])[0])


SAME_HEADERS = (
    "Content-Type", "Cache-Control", "Location", "X-Content-Type-Options", "Referrer-Policy",
    "Cross-Origin-Opener-Policy", "Strict-Transport-Security",
)  # fmt: skip


@pytest.mark.django_db
def test_the_front_follows_a_changed_security_setting(personas, smtp_sink, front):
    # the headers are worked out once per process; a changed setting must be seen at once
    token = links.token_for(sent_an_hour_ago(personas, smtp_sink).pk)
    https = {"wsgi.url_scheme": "https"}
    with override_settings(SECURE_HSTS_SECONDS=0):
        assert "Strict-Transport-Security" not in call(front, f"/o/{token}/", **https)[1]
    with override_settings(SECURE_HSTS_SECONDS=60, SECURE_HSTS_PRELOAD=True):
        headers = call(front, f"/o/{token}/", **https)[1]
    assert headers["Strict-Transport-Security"] == "max-age=60; preload"


@pytest.mark.django_db
@pytest.mark.parametrize("secure", [False, True])
@override_settings(SECURE_HSTS_SECONDS=3600)
def test_the_front_answers_as_django_does(personas, smtp_sink, front, secure):
    delivery = sent_an_hour_ago(personas, smtp_sink)
    token = links.token_for(delivery.pk)
    forged = token[:-2] + ("xx" if not token.endswith("xx") else "yy")
    scheme = "https" if secure else "http"
    client = Client(HTTP_USER_AGENT=PERSON)
    for path in (f"/o/{token}/", f"/c/{token}/0", f"/o/{forged}/", f"/c/{token}/9"):
        status, headers, body = call(front, path, **{"wsgi.url_scheme": scheme})
        expected = client.get(path, secure=secure)
        assert status == expected.status_code, path
        assert body == expected.content, path
        for name in SAME_HEADERS:
            assert headers.get(name) == expected.headers.get(name), (path, name)
        assert "X-Django" not in headers
    assert Event.objects.filter(kind=EventKind.OPENED).count() == 2
    assert Event.objects.filter(kind=EventKind.CLICKED).count() == 2


@pytest.mark.django_db
def test_the_front_records_nothing_for_a_head_and_leaves_the_rest_to_django(
    personas, smtp_sink, front
):
    delivery = sent_an_hour_ago(personas, smtp_sink)
    token = links.token_for(delivery.pk)
    status, headers, body = call(front, f"/o/{token}/", "HEAD")
    assert (status, body, headers["Content-Type"]) == (200, b"", "image/gif")
    assert call(front, f"/c/{token}/1", "HEAD")[:2][0] == 302
    assert not Event.objects.exists()
    assert call(front, f"/o/{token}/", "POST")[0] == 299  # Django's 405
    assert call(front, "/o/abc/def/")[0] == 299  # not a hit's path
    assert call(front, "/campaigns/")[0] == 299
    with override_settings(SECURE_SSL_REDIRECT=True):
        assert call(front, f"/o/{token}/")[0] == 299  # Django sends it to HTTPS first
        secure = call(front, f"/o/{token}/", **{"wsgi.url_scheme": "https"})
        assert secure[0] == 200
    assert Event.objects.count() == 1


@pytest.mark.django_db
def test_the_front_answers_503_when_the_hit_was_not_recorded(personas, smtp_sink):
    delivery = sent_an_hour_ago(personas, smtp_sink)

    def unrecorded(one: batch.Ask) -> batch.Answer:
        raise recorder.Unrecorded

    status, headers, _body = call(
        HitFront(django_app, ask=unrecorded), f"/c/{links.token_for(delivery.pk)}/0"
    )
    assert status == 503
    assert "Location" not in headers


@pytest.mark.django_db
def test_the_front_counts_hits_in_the_request_histogram(personas, smtp_sink, front):
    delivery = sent_an_hour_ago(personas, smtp_sink)

    def count(route: str, status: str) -> float:
        for metric in REQUEST_SECONDS.collect():
            for sample in metric.samples:
                if sample.name.endswith("_count") and sample.labels == {
                    "route": route, "method": "GET", "status": status
                }:  # fmt: skip
                    return sample.value
        return 0.0

    before = count("tracking:open", "200"), count("tracking:click", "404")
    call(front, f"/o/{links.token_for(delivery.pk)}/")
    call(front, f"/c/{links.token_for(delivery.pk)}/9")
    assert (count("tracking:open", "200"), count("tracking:click", "404")) == (
        before[0] + 1,
        before[1] + 1,
    )


@pytest.mark.django_db(transaction=True)
def test_the_served_application_records_a_hit_through_the_writer(personas, smtp_sink):
    from postroom.wsgi import application

    delivery = sent_an_hour_ago(personas, smtp_sink)
    try:
        status, headers, body = call(application, f"/o/{links.token_for(delivery.pk)}/")
    finally:
        recorder.stop()
    assert (status, headers["Content-Type"], body[:6]) == (200, "image/gif", b"GIF89a")
    assert Event.objects.filter(kind=EventKind.OPENED).count() == 1
    assert call(application, "/health")[0] == 200  # Django's, through the same application
