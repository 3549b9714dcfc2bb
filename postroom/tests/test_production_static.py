"""With DEBUG=False the static files are served through collectstatic's manifest: it must be
possible to write it, and pages (the one-click unsubscribe POST included) must render with it.

`.ci/run` does the same end to end with the web server (scripts/check-production); this test lets
`make test` catch a vendored file that breaks the manifest.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.test import Client

from audience.models import Suppression
from campaigns import links
from campaigns.tests.conftest import make_campaign
from campaigns.tests.factories import DeliveryFactory

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = "whitenoise.storage.CompressedManifestStaticFilesStorage"


@pytest.fixture(scope="module")
def collected(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`collectstatic` as the README's production steps run it, into a directory of its own."""
    var = tmp_path_factory.mktemp("var")
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("POSTROOM_TESTING", "DJANGO_ALLOW_ASYNC_UNSAFE", "DATABASE_URL")
    }
    env.update(
        DEBUG="False",
        SECRET_KEY="collect-" + "x" * 50,
        ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        POSTROOM_VAR_DIR=str(var),
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (var / "static" / "staticfiles.json").is_file()
    return var / "static"


@pytest.fixture
def production_static(settings, collected: Path) -> Path:
    settings.DEBUG = False
    settings.STATIC_ROOT = collected
    settings.WHITENOISE_USE_FINDERS = False
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": MANIFEST}}
    return collected


def test_collectstatic_succeeds_with_debug_off_and_names_every_vendored_file(collected):
    manifest = (collected / "staticfiles.json").read_text()
    for name in ("vendor/chart.umd.min.js", "vendor/htmx.min.js", "css/app.css"):
        assert f'"{name}"' in manifest


@pytest.mark.django_db
def test_pages_render_through_the_manifest_with_debug_off(production_static, personas):
    client = Client()
    page = client.get("/accounts/login/", secure=True)
    assert page.status_code == 200
    stylesheet = re.search(r"/static/(css/app\.[0-9a-f]{12}\.css)", page.content.decode())
    assert stylesheet, "the page names its stylesheet by its hashed name"
    assert (production_static / stylesheet.group(1)).is_file()
    client.force_login(personas.owner)
    assert client.get("/", secure=True).status_code == 200
    assert client.get("/ready", secure=True).status_code == 200


@pytest.mark.django_db
def test_the_one_click_unsubscribe_post_answers_with_debug_off(production_static, personas):
    setup = make_campaign(personas.workspace, _NoSink(), n=1)
    recipient = setup.recipients[0]
    delivery = DeliveryFactory.create(campaign=setup.campaign, recipient=recipient)
    url = "/" + links.unsubscribe_url(links.token_for(delivery.pk)).split("/", 3)[3]
    response = Client(enforce_csrf_checks=True).post(
        url, "List-Unsubscribe=One-Click", "application/x-www-form-urlencoded", secure=True
    )
    assert response.status_code == 200
    assert Suppression.objects.filter(workspace=personas.workspace, email=recipient.email).exists()


@pytest.mark.django_db
def test_ready_says_so_when_the_static_files_were_never_collected(settings, tmp_path):
    settings.DEBUG = False
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": MANIFEST}}
    response = Client().get("/ready", secure=True)
    assert response.status_code == 503
    assert response.json()["static_files"] == "not collected"


class _NoSink:
    """make_campaign wants an SMTP server's address; nothing is sent in these tests."""

    host = "127.0.0.1"
    port = 9
