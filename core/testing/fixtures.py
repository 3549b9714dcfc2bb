"""Pytest plugin with Postroom's real-parts fixtures: an SMTP sink, Dovecot and Chromium.

The root conftest loads it with ``pytest_plugins = ["core.testing.fixtures"]``.

- `smtp_sink`: one `SmtpSink` per test session (`_smtp_sink_server`), reset before each test
  and restarted if a test left it stopped.
- `system_mail` (autouse): Django's own mail (password resets, invitations, ...) goes over real
  SMTP into the sink in every test, so `smtp_sink.messages` sees it. A test that asks for
  pytest-django's `mailoutbox` keeps the locmem backend instead.
- `dovecot`: one private `DovecotServer` (IMAP and POP3) per session, emptied before each test;
  `private_dovecot`: one of the test's own, to stop and start. Without Dovecot these tests are
  skipped, or fail under ``POSTROOM_REQUIRE_SERVICES=1`` (CI). The session's Dovecot also
  takes XOAUTH2 logins, whose tokens it asks `oauth_introspection` about.
- `token_endpoint`: an OAuth2 token endpoint of the test's own (refresh, consent codes).
- `browser` (session), `page` and `phone_page`: Playwright driving Debian's Chromium against
  pytest-django's `live_server`. A failing test leaves a screenshot in ``test-results/``.
  Tests using them are marked ``browser``; without Chromium they are skipped, or fail when
  ``POSTROOM_REQUIRE_BROWSER=1`` (CI) so that a missing browser is never silently green.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from django.test import override_settings

from core.testing.http import IntrospectionEndpoint, TokenEndpoint
from core.testing.imap import DovecotServer, dovecot_missing
from core.testing.smtp import SmtpSink

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize
    from pytest_django.live_server_helper import LiveServer

# Playwright's sync API runs an asyncio event loop in the test's own thread (switching to it
# through greenlets), so Django sees a running loop and raises SynchronousOnlyOperation on any
# ORM call in a browser test. That guard is for code running inside a coroutine; browser tests
# call the ORM between page actions, never from the loop, so it is safe to lift it for tests.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

DEFAULT_CHROMIUM = "/usr/bin/chromium"
# The flags that make Chromium start cleanly as root on a machine with a closed network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DEFAULT_TIMEOUT_MS = 10_000
# Chromium now and then never answers the disposal of a context (a download it keeps going, a
# renderer that hangs); a test's own checks are done by then, so its close is bounded.
CLOSE_TIMEOUT_SECONDS = 30
DESKTOP_VIEWPORT: ViewportSize = {"width": 1280, "height": 900}
PHONE_VIEWPORT: ViewportSize = {"width": 375, "height": 740}

_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


# ----------------------------------------------------------------- hooks


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives Debian's Chromium through Playwright")
    _own_cache_keys_per_xdist_worker()


def _own_cache_keys_per_xdist_worker() -> None:
    """Under `pytest -n`, each worker process keeps to cache keys of its own in the shared
    Redis database: every test starts by clearing the cache, which otherwise wiped another
    worker's entries in the middle of its test. The processes a test starts inherit it."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker or not os.environ.get("REDIS_URL"):
        return
    from django.conf import settings

    prefix = f"pytest-{worker}"
    os.environ["CACHE_KEY_PREFIX"] = prefix
    settings.CACHES["default"]["KEY_PREFIX"] = prefix


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # tryfirst: the marker must be on the items before `-m "not browser"` deselects.
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    # Keep each phase's report on the item so fixtures can tell, at teardown, if the test failed.
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


# ----------------------------------------------------------------- SMTP


@pytest.fixture(scope="session")
def _smtp_sink_server() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture
def smtp_sink(_smtp_sink_server: SmtpSink) -> Iterator[SmtpSink]:
    """The session's SMTP sink, empty and with default replies, listening on the same port.

    A test whose `on_message()` hook raised fails with the hook's error."""
    sink = _smtp_sink_server
    if not sink.is_running:  # a previous test simulated an outage and did not come back
        sink.start()
    sink.reset()
    yield sink
    if sink.hook_errors:
        raise sink.hook_errors[0]


@pytest.fixture(autouse=True)
def system_mail(request: pytest.FixtureRequest, smtp_sink: SmtpSink) -> SmtpSink:
    """Send Django's own mail over SMTP into the sink for the whole test.

    pytest-django's session setup switched EMAIL_BACKEND to locmem; this per-test override runs
    after it. Tests that request `mailoutbox` keep locmem, since that is what they read.
    """
    from pytest_django.lazy_django import django_settings_is_configured

    if not django_settings_is_configured() or "mailoutbox" in request.fixturenames:
        return smtp_sink
    settings = request.getfixturevalue("settings")
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = smtp_sink.host
    settings.EMAIL_PORT = smtp_sink.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 10  # a hung sink fails the test instead of blocking the run
    return smtp_sink


# ----------------------------------------------------------------- IMAP and POP3


def _require_dovecot() -> None:
    missing = dovecot_missing()
    if missing:
        reason = (
            f"IMAP/POP3 tests need Debian's Dovecot ({missing}): "
            "run `make dovecot` (apt-get install dovecot-imapd dovecot-pop3d) as root"
        )
        if os.environ.get("POSTROOM_REQUIRE_SERVICES") == "1":
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)


@pytest.fixture(scope="session")
def _introspection_server() -> Iterator[IntrospectionEndpoint]:
    with IntrospectionEndpoint() as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def _dovecot_server(_introspection_server: IntrospectionEndpoint) -> Iterator[DovecotServer]:
    _require_dovecot()
    server = DovecotServer(introspection_url=_introspection_server.url)
    server.start()
    yield server
    server.cleanup()


@pytest.fixture
def oauth_introspection(
    _introspection_server: IntrospectionEndpoint, dovecot: DovecotServer
) -> IntrospectionEndpoint:
    """Where the session's Dovecot checks XOAUTH2 and OAUTHBEARER tokens: no token is good
    until `grant(token, user)`; passwords work as ever."""
    _introspection_server.reset()
    return _introspection_server


@pytest.fixture
def token_endpoint() -> Iterator[TokenEndpoint]:
    """An OAuth2 token endpoint on loopback (core.testing.http.TokenEndpoint)."""
    with TokenEndpoint() as endpoint:
        yield endpoint


@pytest.fixture
def dovecot(_dovecot_server: DovecotServer) -> DovecotServer:
    """The session's private Dovecot (IMAP and POP3, plaintext and TLS ports on 127.0.0.1),
    running, with every mailbox empty."""
    server = _dovecot_server
    if not server.is_running:  # a test took it away and did not bring it back
        server.start()
    server.reset()
    return server


@pytest.fixture
def private_dovecot() -> Iterator[DovecotServer]:
    """A Dovecot of the test's own, for tests that stop it or change it."""
    _require_dovecot()
    with DovecotServer() as server:
        yield server


# ---------------------------------------------------------------- database


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix: None) -> None:
    """pytest-django's hook, extended: the folder of SQLite's test database file (var/ by
    default, absent from a fresh clone) exists before the database is made in it."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    name = database.get("TEST", {}).get("NAME")
    if database["ENGINE"].endswith("sqlite3") and name:
        Path(name).parent.mkdir(parents=True, exist_ok=True)


# ----------------------------------------------------------------- browser


def chromium_path() -> str:
    return os.environ.get("POSTROOM_CHROMIUM") or DEFAULT_CHROMIUM


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, driven by Playwright for the whole session."""
    path = chromium_path()
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        reason = (
            f"browser tests need Debian's chromium at {path}: "
            "run `make browser` (apt-get install chromium) as root"
        )
        if os.environ.get("POSTROOM_REQUIRE_BROWSER") == "1":
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)

    # Imported here so that the plugin loads, and non-browser tests run, without Playwright.
    from playwright.sync_api import sync_playwright

    # Never `playwright install`: Playwright only drives the system's browser here.
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=path, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


def _failed(item: pytest.Item) -> bool:
    reports = item.stash.get(_REPORTS, {})
    return any(report.failed for report in reports.values())


def _screenshot_path(item: pytest.Item) -> Path:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", item.nodeid).strip("_")[:180]
    return item.config.rootpath / "test-results" / f"{name}.png"


def _open_page(
    request: pytest.FixtureRequest, browser: Browser, base_url: str, **options: Any
) -> Iterator[Page]:
    context = browser.new_context(base_url=base_url, **options)
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    page = context.new_page()
    try:
        yield page
    finally:
        if _failed(request.node):
            path = _screenshot_path(request.node)
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                page.screenshot(path=str(path), full_page=True)
                print(f"\nscreenshot of the failing page: {path}")
            except Exception as exc:  # the page may have crashed: report it, keep the failure
                print(f"\nno screenshot of the failing page ({type(exc).__name__}: {exc})")
        close_context(context)


def close_context(context: BrowserContext, seconds: float = CLOSE_TIMEOUT_SECONDS) -> bool:
    """Close `context`, waiting `seconds` at most; False (and a printed line) if Chromium hung.

    Playwright's close has no timeout of its own. The sync API runs its calls as coroutines
    on its own loop (`_sync`), so the bound is asyncio's `wait_for` around the same call. A
    context left behind is discarded with the browser at the end of the session.
    """
    try:
        context._sync(asyncio.wait_for(context._impl_obj.close(reason=None), seconds))
    except TimeoutError:
        print(f"\nChromium did not close a browser context within {seconds} s; left behind")
        return False
    return True


@pytest.fixture
def page(
    request: pytest.FixtureRequest, browser: Browser, live_server: LiveServer
) -> Iterator[Page]:
    """A fresh 1280x900 browser context on the live server; relative URLs work in goto()."""
    yield from _open_page(request, browser, live_server.url, viewport=DESKTOP_VIEWPORT)


@pytest.fixture
def phone_page(
    request: pytest.FixtureRequest, browser: Browser, live_server: LiveServer
) -> Iterator[Page]:
    """Like `page`, as a 375x740 touch phone."""
    yield from _open_page(
        request,
        browser,
        live_server.url,
        viewport=PHONE_VIEWPORT,
        is_mobile=True,
        has_touch=True,
    )


def closed_port() -> int:
    """A port of 127.0.0.1 nothing listens on (bound, then let go)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def unreachable_caches() -> dict[str, dict[str, Any]]:
    """CACHES whose default is a Redis server that cannot be reached (nothing listens)."""
    return {
        "default": {
            "BACKEND": "core.redis_cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 5},
        }
    }


@pytest.fixture
def unreachable_cache() -> Iterator[None]:
    """The default cache cannot be reached for the whole test."""
    with override_settings(CACHES=unreachable_caches()):
        yield
