"""System mail in development is printed readably: the confirmation link whole, framed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from accounts.services import user_send_verification, user_sign_up

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db


def test_the_confirmation_link_is_printed_whole(settings, capsys):
    settings.EMAIL_BACKEND = "postroom.console_mail.EmailBackend"
    user = user_sign_up(email="nina@example.test", password="a-long-and-unusual-passphrase")
    base = "http://127.0.0.1:8000" + "/a-long-prefix-that-pushes-the-link-past-76-characters"
    user_send_verification(user=user, base_url=base)

    out = capsys.readouterr().out
    assert "System e-mail (printed here, not sent" in out
    assert "To:      nina@example.test" in out
    link = re.search(rf"{re.escape(base)}/accounts/verify/\S+/", out)
    assert link, out  # on one line, with no quoted-printable '=' break inside
    assert "Content-Transfer-Encoding" not in out


def test_consolemail_selects_the_readable_backend():
    env = {
        **os.environ,
        "EMAIL_URL": "consolemail://",
        "DJANGO_SETTINGS_MODULE": "postroom.settings",
    }
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.EMAIL_BACKEND)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "postroom.console_mail.EmailBackend"
