"""The live server of the browser tests never shares a database connection between threads.

Django hands an in-memory SQLite database's one connection to the live server, whose request
threads then use it together with the test's thread. Two threads on one sqlite3 connection
deadlock, holding the GIL, when one fetches rows while the other runs a Python SQL function
(SQLite computes TruncDay and TruncHour in Python): every thread stops for good and no
timeout can end it. A CI run hung so in a browser test of the reports. The test database on
SQLite is therefore a file, and each thread opens its own connection to it.
"""

from __future__ import annotations

import http.client
import threading
from datetime import timedelta
from typing import cast

import pytest
from django.conf import settings
from django.db import connection
from django.db.backends.sqlite3.base import DatabaseWrapper as SQLiteWrapper
from django.test import Client
from django.utils import timezone

from accounts.models import Role
from accounts.tests.factories import MembershipFactory
from tracking.models import Event, EventKind
from tracking.tests.reporting import happened, sent_world

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]

THREADS = 6
REQUESTS_EACH = 4


def test_the_test_database_is_never_an_in_memory_one():
    if connection.vendor != "sqlite":
        pytest.skip("only SQLite hands its in-memory connection to the live server")
    assert not cast(SQLiteWrapper, connection).is_in_memory_db()


def test_report_requests_in_parallel_with_the_tests_own_queries_all_answer(live_server):
    member = MembershipFactory.create(role=Role.VIEWER, user__email="reader@example.test")
    addresses = [f"r{i}@example.test" for i in range(60)]
    world = sent_world(member.workspace, addresses)
    for i, delivery in enumerate(world.deliveries.values()):
        happened(delivery, EventKind.OPENED, world.start + timedelta(hours=i % 20))
    client = Client()
    client.force_login(member.user)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    host, port = live_server.url.removeprefix("http://").split(":")
    answers: list[int] = []
    errors: list[BaseException] = []

    def ask() -> None:
        try:
            for url in ["/deliverability/", f"/campaigns/{world.campaign.pk}/report/"] * (
                REQUESTS_EACH // 2
            ):
                server = http.client.HTTPConnection(host, port, timeout=60)
                server.request("GET", url, headers={"Cookie": cookie})
                answers.append(server.getresponse().status)
                server.close()
        except BaseException as exc:  # reported below, with the thread's answers
            errors.append(exc)

    threads = [threading.Thread(target=ask) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    since = timezone.now() - timedelta(days=2)
    while any(thread.is_alive() for thread in threads):
        # The test's own thread reads rows meanwhile, as browser tests do between page steps.
        list(Event.objects.filter(occurred_at__gte=since).values_list("id", "kind")[:200])
    for thread in threads:
        thread.join()

    assert not errors, errors
    assert answers == [200] * (THREADS * REQUESTS_EACH)
