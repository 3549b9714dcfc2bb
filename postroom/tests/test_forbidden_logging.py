"""A 403 is logged as one quiet line, without a traceback."""

from __future__ import annotations

import logging

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_a_forbidden_request_logs_one_info_line_without_a_traceback(viewer_client, caplog):
    caplog.set_level(logging.DEBUG, logger="django.request")
    response = viewer_client.post(reverse("audience:lists"), {"name": "Not allowed"})
    assert response.status_code == 403

    records = [r for r in caplog.records if r.name == "django.request"]
    assert records, "the 403 is still logged"
    for record in records:
        assert record.levelno == logging.INFO
        assert record.exc_info is None
    assert "Traceback" not in caplog.text


def test_other_errors_keep_their_level(owner_client, caplog):
    caplog.set_level(logging.DEBUG, logger="django.request")
    assert owner_client.get("/no-such-page/").status_code == 404
    records = [r for r in caplog.records if r.name == "django.request"]
    assert [r.levelno for r in records] == [logging.WARNING]
