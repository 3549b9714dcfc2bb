"""`|stamp` writes a time exactly as `|date:"Y-m-d H:i:s"` did, in the template's time zone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.template import engines

TEMPLATE = (
    "{% load tz row_stamps %}{% timezone zone %}"
    '{{ at|stamp|default:"—" }}|{{ at|date:"Y-m-d H:i:s"|default:"—" }}{% endtimezone %}'
)


@pytest.mark.parametrize("zone", ["UTC", "Europe/Moscow", "America/St_Johns", "Asia/Kathmandu"])
@pytest.mark.parametrize(
    "at",
    [
        datetime(2026, 12, 5, 23, 59, 59, 999_999, tzinfo=UTC),
        datetime(2026, 3, 29, 0, 30, tzinfo=UTC),
        datetime(1999, 1, 1, 0, 0, 1, tzinfo=UTC),
        None,
        "",
    ],
)
def test_stamp_writes_what_the_date_filter_wrote(zone, at):
    rendered = engines["django"].from_string(TEMPLATE).render({"at": at, "zone": zone})
    ours, django = rendered.split("|")
    assert ours == django
