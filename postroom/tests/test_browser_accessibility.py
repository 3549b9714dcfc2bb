"""Every page passes axe-core in Chromium with no serious or critical violation (WCAG 2.1 A
and AA), in English and Russian, in the light and the dark theme.

The pages are those of the planted-markup walk: every route of the tenancy walker, filled with
objects of every kind (a campaign that sent, a template with an attachment, a list, a segment,
a webhook, an API key…), as the workspace's owner, who sees every control. axe-core is the
npm package, vendored beside the tests by `make css` (core/testing/vendor/axe.min.js) and never
served; Playwright's evaluate runs it outside the page's script policy.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import pytest
from django.db import connection
from playwright.sync_api import Browser, Error, Page

from core.testing.fixtures import close_context
from core.testing.smtp import SmtpSink
from postroom.tests.test_browser_planted_markup import (
    leave_page,
    page_urls,
    plant_everything,
    signed_in_page,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(900),
    # Pages look the same on either database: the SQLite pass audits them, once.
    pytest.mark.skipif(
        connection.vendor != "sqlite", reason="accessibility is audited in the SQLite pass"
    ),
]

AXE = (Path(__file__).resolve().parents[2] / "core/testing/vendor/axe.min.js").read_text()
SERIOUS = ("serious", "critical")
RUN_AXE = """async (levels) => {
  const result = await axe.run(document, {
    runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    resultTypes: ["violations"],
  });
  return result.violations
    .filter((v) => levels.includes(v.impact))
    .map((v) => `${v.id} (${v.impact}): ${v.help}: ` +
      v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(" | "));
}"""


def violations(page: Page) -> list[str]:
    """axe-core's serious and critical WCAG 2.1 A/AA violations of the page as it stands."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE)
    found: list[str] = page.evaluate(RUN_AXE, list(SERIOUS))
    return found


def audit(page: Page, urls: list[str]) -> tuple[list[str], int]:
    """Violations on each HTML page of `urls`, and how many pages were audited. Left out:
    sandboxed message previews (the user's own HTML) and the fragments htmx swaps in."""
    faults: list[str] = []
    audited = 0
    shapes: set[str] = set()
    for url in urls:
        shape = re.sub(r"\d+", "N", url)  # one page per route: the same template with other ids
        if shape in shapes:
            continue
        try:
            response = page.goto(url, wait_until="load")
        except Error:  # a download
            continue
        if response is None or "text/html" not in (response.header_value("content-type") or ""):
            continue
        if "sandbox" in (response.header_value("content-security-policy") or ""):
            continue
        if "<html" not in response.text()[:4096].lower():  # an htmx fragment, not a page
            continue
        faults += [f"{url}: {v}" for v in violations(page)]
        shapes.add(shape)
        audited += 1
        leave_page(page)
    return faults, audited


# Each is a Chromium context of its own: language from the owner's profile, colour scheme as
# the system's (theme.js follows it when no theme was chosen).
VARIANTS: list[tuple[str, Literal["light", "dark"]]] = [
    ("en", "light"),
    ("ru", "light"),
    ("en", "dark"),
]


def test_every_page_passes_axe_in_both_languages_and_themes(
    browser: Browser, live_server: Any, smtp_sink: SmtpSink, settings: Any
) -> None:
    settings.SENDING_ALLOW_PRIVATE_HOSTS = True  # the SMTP sink and the webhook on loopback
    planted = plant_everything(smtp_sink)
    urls = page_urls(planted)
    routes = {re.sub(r"\d+", "N", url) for url in urls}
    faults: list[str] = []
    for language, scheme in VARIANTS:
        planted.owner.language = language
        planted.owner.save(update_fields=["language"])
        page = signed_in_page(browser, live_server.url, planted.owner, planted.workspace)
        page.emulate_media(color_scheme=scheme)
        try:
            found, audited = audit(page, urls)
        finally:
            close_context(page.context)
        # A walk that audited almost nothing would pass everything.
        assert audited > len(routes) // 2, f"{language}/{scheme}: {audited} of {len(routes)}"
        faults += [f"{language}/{scheme} {fault}" for fault in found]
    assert not faults, f"{len(faults)} violations:\n" + "\n".join(faults)
