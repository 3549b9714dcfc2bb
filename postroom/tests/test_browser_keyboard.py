"""Real Chromium, keyboard only: on the pages people work in (the dashboard, the campaign
wizard, the recipients table, the template editor and the block editor), Tab reaches every
control of the page in turn, none traps the focus, and each shows where the focus is."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from accounts.models import Role
from accounts.tests.factories import MembershipFactory
from audience.tests.factories import RecipientFactory
from content.tests.factories import TemplateFactory
from content.tests.test_browser import sign_in
from sending.tests.factories import SendingAccountFactory

pytestmark = pytest.mark.django_db(transaction=True)

# Marks every control a keyboard user must be able to reach: visible, enabled, not taken out
# of the order (tabindex=-1), not inside a closed <details> or an inert part.
MARK_CONTROLS = """() => {
  const selector = 'a[href], button, input:not([type=hidden]), select, textarea, summary, '
    + '[tabindex]:not([tabindex="-1"])';
  const controls = [...document.querySelectorAll(selector)].filter((el) => {
    if (el.disabled || el.closest('[inert]') || el.getAttribute('tabindex') === '-1') return false;
    const closed = el.closest('details:not([open])');
    if (closed && el.tagName !== 'SUMMARY') return false;
    if (closed && el.closest('details') !== closed) return false;
    const box = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    return box.width > 0 && box.height > 0 && style.visibility !== 'hidden';
  });
  // A radio group is one stop of the Tab order (the arrow keys move within it): one mark.
  const groups = new Map();
  let count = 0;
  for (const el of controls) {
    const group = el.type === 'radio' && el.name ? `${el.form ? el.form.id : ''}/${el.name}` : null;
    if (group && !groups.has(group)) groups.set(group, String(count++));
    el.setAttribute('data-keyboard-walk', group ? groups.get(group) : String(count++));
  }
  return count;
}"""

# The focused control, and whether it shows its focus: an outline or a ring (box-shadow).
FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0;
  const ring = style.boxShadow && style.boxShadow !== 'none';
  return {
    mark: el.getAttribute('data-keyboard-walk'),
    tag: el.tagName.toLowerCase(),
    text: (el.getAttribute('aria-label') || el.textContent || el.name || el.id || '')
      .trim().slice(0, 40),
    shown: Boolean(outline || ring),
  };
}"""


def walk(page: Page, path: str) -> list[str]:
    """Tab through `path` from the top: the faults found (unreached controls, focus not shown)."""
    page.goto(path)
    count = page.evaluate(MARK_CONTROLS)
    assert count > 0, f"{path}: no control to reach"
    reached: set[str] = set()
    faults: list[str] = []
    for _ in range(count + 40):  # a few more presses than controls: iframes, the skip link
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        if focused is None or focused["tag"] == "iframe":
            continue
        if focused["mark"] is not None:
            reached.add(focused["mark"])
        if not focused["shown"]:
            faults.append(f"{path}: focus not shown on <{focused['tag']}> {focused['text']!r}")
        if len(reached) == count:
            break
    missing = sorted(set(map(str, range(count))) - reached, key=int)
    for mark in missing:
        element = page.locator(f"[data-keyboard-walk='{mark}']").first
        html = element.evaluate("(el) => el.outerHTML.slice(0, 120)")
        faults.append(f"{path}: Tab never reaches {html}")
    return sorted(set(faults))


def test_tab_reaches_every_control_and_shows_the_focus(page: Page):
    owner = MembershipFactory.create(role=Role.OWNER, user__email="owner@example.test")
    workspace = owner.workspace
    for number in range(3):
        RecipientFactory.create(workspace=workspace, email=f"reader{number}@example.test")
    template = TemplateFactory.create(workspace=workspace, name="Newsletter")
    SendingAccountFactory.create(workspace=workspace, name="Main account")
    sign_in(page, "owner@example.test")
    faults: list[str] = []
    for path in ("/", "/campaigns/new/", "/recipients/", f"/templates/{template.pk}/"):
        faults += walk(page, path)
    # the block editor: a block template
    page.goto("/templates/new/")
    page.get_by_role("link", name="Blocks", exact=True).click()
    page.get_by_label("Name").fill("Blocks")
    page.get_by_label("Subject").fill("Hello")
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url(lambda url: "/templates/new/" not in url)
    faults += walk(page, page.url)
    assert faults == []
