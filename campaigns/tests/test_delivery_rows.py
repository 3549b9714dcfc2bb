"""`{% delivery_cells %}` writes a campaign page's delivery row as its template did: the same
markup, the same escaping of planted markup, in English and in Russian, in the workspace's
time zone."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from django.template import Context, Template
from django.utils import translation
from django.utils.timezone import override

from campaigns.models import Delivery, DeliveryStatus
from sending.models import SendingAccount

PLANTED = '<img src=x onerror=alert(1) hx-get="/x">'

# The row as detail.html wrote it before the tag.
BEFORE = Template(
    "{% load campaign_badges row_stamps %}"
    '<td><a class="link" href="{{ logs_url }}?campaign={{ campaign_id }}&amp;email='
    '{{ d.email|urlencode }}" title="{{ every_attempt }}">{{ d.email }}</a></td>'
    "<td>{% delivery_badge d.status d.get_status_display %}</td>"
    "<td>{{ d.attempts }}</td>"
    '<td class="whitespace-nowrap">{{ d.account.name|default:"—" }}</td>'
    '<td>{{ d.last_code|default_if_none:"" }} {{ d.last_enhanced_code }}</td>'
    '<td class="max-w-md truncate" title="{{ d.last_reply }}">'
    "{{ d.last_reply|truncatechars:120 }}</td>"
    '<td class="whitespace-nowrap">{{ d.sent_at|stamp|default:"—" }}</td>'
)
AFTER = Template(
    "{% load delivery_rows %}{% delivery_cells d campaign_id logs_url every_attempt %}"
)


def _deliveries() -> list[Delivery]:
    account = SendingAccount(name=f"Main {PLANTED}")
    sent = Delivery(
        email="a+b&c@example.test",
        status=DeliveryStatus.SENT,
        attempts=2,
        last_code=250,
        last_enhanced_code="2.0.0",
        last_reply="250 2.0.0 Ok: queued",
        sent_at=datetime(2026, 3, 29, 0, 30, 5, tzinfo=UTC),
    )
    sent.account = account
    failed = Delivery(
        email="x@example.test",
        status=DeliveryStatus.FAILED,
        attempts=1,
        last_code=550,
        last_enhanced_code="5.1.1",
        last_reply=f"550 5.1.1 {PLANTED} " + "ü" * 200,  # long, not ASCII: cut at 120
    )
    failed.account = None  # its account was deleted
    queued = Delivery(email="q@example.test", status=DeliveryStatus.QUEUED)
    queued.account = SendingAccount(name="")
    return [sent, failed, queued]


@pytest.mark.parametrize("language", ["en", "ru"])
def test_the_tag_writes_the_row_the_template_wrote(language):
    with translation.override(language), override(ZoneInfo("Europe/Moscow")):
        for delivery in _deliveries():
            values = {
                "d": delivery,
                "campaign_id": 7,
                "logs_url": "/logs/",
                "every_attempt": 'Every "attempt"',
            }
            before = BEFORE.render(Context(values, autoescape=True))
            after = AFTER.render(Context(values, autoescape=True))
            assert after == before
            assert PLANTED not in after
