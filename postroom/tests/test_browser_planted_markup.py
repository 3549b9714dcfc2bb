"""Planted markup stays text: stored HTML never runs, nor makes htmx act, in anyone's browser.

An editor (anyone can sign up and own a workspace, so anyone can be one) stores a payload in
every text field the API lets them fill: `<script>`, `onerror`, `javascript:` links, `hx-*`
attributes that fire on load, a `<form>` and a `<meta http-equiv="refresh">`. Then Chromium
visits every page of the app (the routes of the tenancy walker, filled with the planted objects)
as the owner, a viewer, a platform manager and a superuser (who also walks the admin), and the
test fails on:

- any dialog (a script ran);
- any request to a planted URL (`/pmark/...`) from the page: htmx, an image, a refresh;
- any planted element in the page's DOM: the markup was parsed instead of shown as text;
- any text of the payload outside an `hx-disable` region (htmx would act on markup there if
  escaping ever failed);
- an iframe without `sandbox`, or with scripts allowed; a page whose policy allows inline or
  eval'd scripts. Pages that show a message's own HTML (previews, captured mail) must carry the
  sandbox policy; their markup is the user's content by design and is not inspected further.

A second test takes escaping away: it inserts planted htmx elements into a page by script and
checks that none of them can send a request, while an element of ours can, with the CSRF token.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings as django_settings
from django.contrib import admin
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import Client
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from playwright.sync_api import Browser, Dialog, Error, Page, Request, Route

from accounts.keys.services import api_key_create
from accounts.middleware import SESSION_KEY
from accounts.models import Membership, Role, User, Workspace
from accounts.selectors import MANAGERS_GROUP
from accounts.tests.factories import MembershipFactory, UserFactory, WorkspaceFactory
from audience.models import AudienceJob, Suppression
from campaigns.engine.step import Engine
from campaigns.models import Attempt, Campaign, CampaignStatus, Delivery
from conftest import api_key_client
from core.testing.fixtures import DESKTOP_VIEWPORT, close_context
from core.testing.smtp import SmtpSink
from postroom.tests.test_tenancy import Foreign, all_routes, providers
from sending.models import CapturedMessage, SendingAccount

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(600)]

MARK = "pmark"
# Every planted element carries data-pmark, every planted URL has /pmark/ in its path.
FULL = (
    f"{MARK} <script>alert('pmark script')</script>"
    '<img src="/pmark/img" onerror="alert(1)" data-pmark>'
    '<a href="javascript:alert(2)" data-pmark>pmark link</a>'
    '<div hx-post="/pmark/hx-post" hx-trigger="load" data-pmark>x</div>'
    '<div hx-patch="/pmark/hx-patch" hx-trigger="load" hx-confirm="pmark?" data-pmark>x</div>'
    '<div hx-get="/pmark/hx-get" hx-trigger="load" hx-on:htmx:before-request="alert(3)" '
    "data-pmark>x</div>"
    '<form action="/pmark/form" method="post" data-pmark><button data-pmark>go</button></form>'
    '<meta http-equiv="refresh" content="0;url=/pmark/meta" data-pmark>'
)
MEDIUM = (
    f'{MARK}<a href="javascript:alert(2)" data-pmark>l</a><form action=/pmark/f data-pmark>'
    '</form><meta http-equiv=refresh content="0;url=/pmark/m" data-pmark>'
)
SHORT = (
    f"{MARK}<img src=/pmark/i onerror=alert(1) data-pmark>"
    "<b hx-post=/pmark/h hx-trigger=load data-pmark>"
)
TINY = f"{MARK}<b data-pmark hx-get=/pmark/t hx-trigger=load>"
# File names lose everything up to a slash.
FILE_NAME = f"{MARK}<b data-pmark hx-get=pmark-f hx-trigger=load>"
TIERS = (FULL, MEDIUM, SHORT, TINY)

DOM_CHECK = r"""() => {
  const disabled = (node) => !!node.closest("[hx-disable], [data-hx-disable]");
  const planted = [...document.querySelectorAll("[data-pmark]")].map((el) => {
    const live = [...el.attributes].map((a) => a.name).filter((n) => /^(on|hx-|data-hx-)/.test(n));
    return `<${el.tagName.toLowerCase()}> live=[${live}] in hx-disable=${disabled(el)}`;
  });
  const exposed = [];
  if (document.body && window.htmx) {
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
      const text = walker.currentNode;
      if (text.data.includes("pmark") && text.parentElement && !disabled(text.parentElement)) {
        const words = text.data.replace(/\s+/g, " ").trim().slice(0, 60);
        exposed.push(`<${text.parentElement.tagName.toLowerCase()}> ${words}`);
      }
    }
  }
  const frames = [...document.querySelectorAll("iframe")]
    .map((f) => f.getAttribute("sandbox"))
    .filter((s) => s === null || /allow-(scripts|same-origin)/.test(s))
    .map((s) => `iframe sandbox=${s}`);
  return [
    ...planted.map((p) => "planted element " + p),
    ...exposed.map((e) => "payload outside hx-disable: " + e),
    ...frames,
  ];
}"""


# ----------------------------------------------------------------- planting


def plant(api: Any, path: str, texts: Iterable[str], **fixed: Any) -> dict[str, Any]:
    """POST `fixed` with each of `texts` set to the longest payload it accepts."""
    tier = dict.fromkeys(texts, 0)
    while True:
        body = {**fixed, **{name: TIERS[t] for name, t in tier.items()}}
        response = api.post(path, body, format="json")
        if response.status_code < 300:
            created: dict[str, Any] = response.json()
            return created
        text = response.content.decode()
        refused = [name for name in tier if f'"{name}"' in text and tier[name] + 1 < len(TIERS)]
        assert response.status_code == 400, f"{path}: {response.status_code} {text}"
        assert refused, f"{path}: no field takes even {TINY!r}: {text}"
        for name in refused:
            tier[name] += 1


@dataclass
class Planted:
    workspace: Workspace
    owner: User
    editor: User
    viewer: User
    ids: dict[str, list[Any]] = field(default_factory=dict)


def _run_engine() -> None:
    engine = Engine(batch_size=10)
    for _ in range(20):
        if not engine.step():
            break


def _campaign(api: Any, template_id: int, list_id: int, account_id: int) -> int:
    campaign = plant(
        api,
        "/api/campaigns/",
        ["name"],
        template_id=template_id,
        list_ids=[list_id],
        account_ids=[account_id],
        schedule_mode="now",
    )
    return int(campaign["id"])


def plant_everything(smtp_sink: SmtpSink) -> Planted:
    """An editor's payloads through the API; names no API writes (the workspace's, a user's,
    an API key's, a manager's stop reason) are set directly, as their pages' forms would."""
    workspace = WorkspaceFactory.create(name=f"Acme {TINY}")
    owner = MembershipFactory.create(workspace=workspace, role=Role.OWNER).user
    editor = MembershipFactory.create(
        workspace=workspace, role=Role.EDITOR, user__first_name=SHORT, user__last_name=TINY
    ).user
    viewer = MembershipFactory.create(workspace=workspace, role=Role.VIEWER).user
    api = api_key_client(workspace, Role.EDITOR, created_by=editor)
    owner_api = api_key_client(workspace, Role.OWNER, created_by=owner)
    key = api_key_create(workspace=workspace, name=SHORT, role=Role.VIEWER, created_by=editor)

    choice = plant(
        api,
        "/api/custom-fields/",
        ["label"],
        key="plan",
        type="choice",
        choices=[SHORT, MEDIUM, "gold"],
    )
    plant(api, "/api/custom-fields/", ["label"], key="note", type="text")
    choices = api.get(f"/api/custom-fields/{choice['id']}/").json()["choices"]
    people = plant(api, "/api/lists/", ["name", "description"])
    texts = ["first_name", "last_name", "company", "country", "city", "comment"]
    recipient = plant(
        api,
        "/api/recipients/",
        texts,
        email="planted@example.com",
        fields={"plan": choices[0], "note": FULL},
    )
    bounced = plant(api, "/api/recipients/", texts, email="nouser@example.com")
    member_path = f"/api/lists/{people['id']}/members/"
    member = api.post(member_path, {"ids": [recipient["id"], bounced["id"]]}, format="json")
    assert member.status_code < 300, member.content
    segment = plant(
        api,
        "/api/segments/",
        ["name"],
        definition={
            "match": "all",
            "conditions": [{"field": "city", "op": "equals", "value": FULL}],
        },
    )
    template = plant(api, "/api/templates/", ["name", "subject", "html_body", "text_body"])
    upload = io.BytesIO(b"planted file")
    upload.name = f"{FILE_NAME}.txt"
    attachment = api.post(
        f"/api/templates/{template['id']}/attachments/", {"file": upload}, format="multipart"
    )
    assert attachment.status_code == 201, attachment.content
    csv = io.BytesIO(f"email,{FILE_NAME}\nimported@example.com,{FILE_NAME}\n".encode())
    csv.name = f"{FILE_NAME}.csv"
    job = api.post("/api/imports/", {"file": csv, "start": "false"}, format="multipart")
    assert job.status_code == 201, job.content

    capture = plant(
        owner_api,
        "/api/email-accounts/",
        ["name", "from_name"],
        kind="capture",
        from_email="news@example.com",
        daily_limit=1000,
        min_interval_seconds=0,
    )
    smtp = plant(
        owner_api,
        "/api/email-accounts/",
        ["name", "from_name", "smtp_username"],
        kind="smtp",
        from_email="smtp@example.com",
        smtp_host=smtp_sink.host,
        smtp_port=smtp_sink.port,
        smtp_security="none",
        daily_limit=1000,
        min_interval_seconds=0,
    )
    tested = owner_api.post(f"/api/email-accounts/{smtp['id']}/test-connection/", {}, format="json")
    assert tested.status_code == 200, tested.content
    assert SendingAccount.objects.get(pk=smtp["id"]).status == "active"
    webhook = plant(
        owner_api, "/api/webhooks/", ["description"], url="https://127.0.0.1:9/hook", events=["*"]
    )

    # Campaigns: a draft, one sent into the capture account, one refused by the SMTP server
    # with the payload in its reply.
    draft = _campaign(api, template["id"], people["id"], capture["id"])
    captured = _campaign(api, template["id"], people["id"], capture["id"])
    refused = _campaign(api, template["id"], people["id"], smtp["id"])
    smtp_sink.set_reply("nouser@example.com", f"550 5.1.1 {SHORT}")
    smtp_sink.set_reply("planted@example.com", f"451 4.3.0 {SHORT}")
    for campaign_id in (captured, refused):
        started = api.post(f"/api/campaigns/{campaign_id}/send/", {}, format="json")
        assert started.status_code < 300, started.content
        _run_engine()
    assert Campaign.objects.get(pk=captured).status == CampaignStatus.COMPLETED
    assert CapturedMessage.objects.filter(workspace=workspace).exists()
    assert Attempt.objects.filter(campaign_id=refused, reply__contains=MARK).exists()

    # A platform manager's reason for stopping the workspace's sending, shown on every page.
    Workspace.objects.filter(pk=workspace.pk).update(
        sending_stopped_at=timezone.now(), sending_stopped_reason=FULL[:500]
    )
    # A platform manager's reason for disabling a campaign, shown on its page, in the API and
    # on the console's list of every workspace's campaigns.
    Campaign.objects.filter(pk=draft).update(disabled_at=timezone.now(), disabled_reason=FULL[:500])
    planted = Planted(workspace, owner, editor, viewer)
    campaign_ids = [draft, captured, refused]
    planted.ids = {
        "recipient_id": [recipient["id"], bounced["id"]],
        "list_id": [people["id"]],
        "segment_id": [segment["id"]],
        "field_id": [choice["id"]],
        "suppression_id": list(
            Suppression.objects.filter(workspace=workspace).values_list("pk", flat=True)[:1]
        ),
        "job_id": list(
            AudienceJob.objects.filter(workspace=workspace).values_list("pk", flat=True)
        ),
        "template_id": [template["id"]],
        "attachment_id": [attachment.json()["id"]],
        "campaign_id": campaign_ids,
        "delivery_id": list(
            Delivery.objects.filter(campaign_id=refused).values_list("pk", flat=True)[:1]
        ),
        "attempt_id": list(
            Attempt.objects.filter(campaign_id=refused).values_list("pk", flat=True)[:1]
        ),
        "account_id": [capture["id"], smtp["id"]],
        "captured_id": list(
            CapturedMessage.objects.filter(workspace=workspace).values_list("pk", flat=True)[:1]
        ),
        "endpoint_id": [webhook["id"]],
        "api_key_id": [key.api_key.pk],
        "membership_id": [Membership.objects.get(workspace=workspace, user=editor).pk],
        "workspace_id": [workspace.pk],
        "user_id": [editor.pk],
    }
    return planted


def page_urls(planted: Planted) -> list[str]:
    """Every page of the app (not the JSON API), with each planted object in its URL."""
    foreign = Foreign(workspace=planted.workspace, owner=planted.owner)
    available: dict[str, Callable[[Any], Any]] = providers()
    urls: list[str] = []
    for route in all_routes():
        if route.name.startswith("api:") and route.name != "api:docs":
            continue
        if not route.kwargs:
            urls.append(reverse(route.name))
            continue
        # Kinds nothing was planted in come from the walker's providers, made once.
        for name in route.kwargs:
            if not planted.ids.get(name):
                planted.ids[name] = [available[name](foreign)]
        # One URL per planted object of the route's first kind; the rest filled once.
        first, *rest = route.kwargs
        values = planted.ids[first]
        fixed = {k: planted.ids[k][0] for k in rest}
        for value in values:
            try:
                urls.append(reverse(route.name, kwargs={first: value, **fixed}))
            except NoReverseMatch:  # e.g. an attachment of another template
                continue
    return _pages(planted.owner, planted.workspace, urls)


def _pages(user: User, workspace: Workspace, urls: list[str]) -> list[str]:
    """The URLs that answer the owner's GET with an HTML page (not 405, not a download)."""
    client = Client()
    client.force_login(user)
    session = client.session
    session[SESSION_KEY] = workspace.pk
    session.save()
    pages = []
    for url in urls:
        response = client.get(url)
        if response.status_code != 405 and "text/html" in response.get("Content-Type", ""):
            pages.append(url)
    return pages


def admin_urls(workspace: Workspace) -> list[str]:
    urls = [reverse("admin:index")]
    for model in admin.site._registry:
        meta = model._meta
        urls.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
        rows = model._default_manager.all()
        if any(f.name == "workspace" for f in meta.get_fields()):
            rows = rows.filter(workspace=workspace)
        obj = rows.order_by("-pk").first()
        if obj is not None:
            urls.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk]))
    return urls


# ----------------------------------------------------------------- visiting


def signed_in_page(browser: Browser, base_url: str, user: User, workspace: Workspace) -> Page:
    client = Client()
    client.force_login(user)
    session = client.session
    session[SESSION_KEY] = workspace.pk
    session.save()
    # The walk passes export links too: a download Chromium keeps going can hold the
    # context's close for ever, and a file is no page to inspect.
    context = browser.new_context(
        base_url=base_url, viewport=DESKTOP_VIEWPORT, accept_downloads=False
    )
    context.set_default_timeout(10_000)
    context.add_cookies(
        [
            {
                "name": django_settings.SESSION_COOKIE_NAME,
                "value": session.session_key or "",
                "url": base_url,
            }
        ]
    )
    return context.new_page()


def _directives(policy: str) -> dict[str, str]:
    pairs = ([*d.strip().split(" ", 1), ""][:2] for d in policy.split(";") if d.strip())
    return {name: value.strip() for name, value in pairs}


def _policy_faults(url: str, policy: str) -> list[str]:
    """A page runs our scripts only; a page of a message's HTML runs none, sandboxed."""
    directives = _directives(policy)
    if "sandbox" in directives:
        if directives.get("default-src") == "'none'" and "script-src" not in directives:
            return []
        return [f"{url}: sandboxed page that may run scripts: {policy}"]
    if directives.get("script-src") != "'self'":
        return [f"{url}: script-src is {directives.get('script-src')!r}"]
    return []


def leave_page(page: Page) -> None:
    """Tear the current document down, so that its late requests are not the next page's."""
    # A page navigating itself (a planted refresh) may refuse: the next goto settles it.
    with contextlib.suppress(Error):
        page.goto("about:blank", wait_until="load")


def visit(
    browser: Browser, base_url: str, who: str, user: User, workspace: Workspace, urls: list[str]
) -> tuple[list[str], int]:
    """Faults seen on every page of `urls`, and how many pages were inspected."""
    page = signed_in_page(browser, base_url, user, workspace)
    faults: list[str] = []
    here = {"url": ""}

    def on_dialog(dialog: Dialog) -> None:
        faults.append(f"{who} {here['url']}: dialog {dialog.message!r}")
        dialog.dismiss()

    requests: list[str] = []
    after_sandbox = {"yes": False}

    def on_request(request: Request) -> None:
        if MARK not in urlsplit(request.url).path or request.frame != page.main_frame:
            return
        # Chromium may report a request of the previous document after the next goto began.
        # Our pages send their full URL as referer (same-origin policy); a sandboxed page, an
        # opaque origin, sends none. A request naming another page, or none just after a
        # sandboxed one, is the earlier document's.
        referer = request.headers.get("referer")
        if referer is not None and urlsplit(referer).path != urlsplit(here["url"]).path:
            return
        if referer is None and after_sandbox["yes"]:
            return
        requests.append(f"planted request {request.method} {request.url}")

    page.on("dialog", on_dialog)
    page.on("request", on_request)
    inspected = 0
    sandboxed_before = False
    for url in urls:
        here["url"] = url
        requests.clear()
        after_sandbox["yes"] = sandboxed_before
        sandboxed_before = False
        try:
            response = page.goto(url, wait_until="domcontentloaded")
        except Error:  # a download, or an error status Chromium shows no page for
            continue
        if response is None or "text/html" not in (response.header_value("content-type") or ""):
            continue
        policy = response.header_value("content-security-policy") or ""
        faults += [f"{who} {e}" for e in _policy_faults(url, policy)]
        if "sandbox" in _directives(policy):
            # A message's own HTML, shown sandboxed: its markup is its content. Chromium reports
            # the requests its policy blocks (an http image) as requests too, possibly after
            # goto returned: leave the page before the next one counts requests.
            leave_page(page)
            sandboxed_before = True
            continue
        page.wait_for_timeout(20)  # htmx acted on DOMContentLoaded: its requests are out
        try:
            found = page.evaluate(DOM_CHECK)
        except Error as exc:  # a planted refresh took the page away
            found = [f"the page changed under the check: {exc.message.splitlines()[0]}"]
        leave_page(page)  # every request this page made is in `requests` now
        faults += [f"{who} {url}: {f}" for f in [*requests, *found]]
        inspected += 1
    close_context(page.context)
    return faults, inspected


def _manager() -> User:
    call_command("create_groups", verbosity=0)
    user = UserFactory.create(email="manager@platform.test")
    user.groups.add(Group.objects.get(name=MANAGERS_GROUP))
    return user


def _person(who: str, planted: Planted) -> User:
    if who == "owner":
        return planted.owner
    if who == "viewer":
        return planted.viewer
    if who == "manager":
        return _manager()
    return UserFactory.create(email="root@platform.test", is_superuser=True, is_staff=True)


# One walk a test: each has its own time bound, and a failure names whose walk it was.
@pytest.mark.parametrize("who", ["owner", "viewer", "manager", "superuser"])
def test_planted_markup_stays_text_on_every_page(
    who: str, browser: Browser, live_server: Any, smtp_sink: SmtpSink, settings: Any
) -> None:
    settings.SENDING_ALLOW_PRIVATE_HOSTS = True  # the SMTP sink and the webhook on loopback
    planted = plant_everything(smtp_sink)
    urls = page_urls(planted)
    user = _person(who, planted)
    if user.is_superuser:
        urls += admin_urls(planted.workspace)
    # Only what answers this person with a page: a file is no page, and a download Chromium
    # keeps going is what can hang a context.
    their_urls = _pages(user, planted.workspace, urls)
    found, inspected = visit(browser, live_server.url, who, user, planted.workspace, their_urls)
    # A walk that inspected almost nothing would pass everything.
    assert inspected > len(urls) // 3, f"{who}: only {inspected} pages inspected"
    assert not found, "\n".join(found)


def test_planted_htmx_cannot_send_even_where_escaping_fails(
    browser: Browser, live_server: Any
) -> None:
    """Layers behind escaping: suppose markup did reach the page, in or out of hx-disable."""
    membership = MembershipFactory.create(role=Role.OWNER)
    page = signed_in_page(browser, live_server.url, membership.user, membership.workspace)
    sent: dict[str, dict[str, str]] = {}
    dialogs: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    def on_planted(route: Route) -> None:
        sent[urlsplit(route.request.url).path] = route.request.headers
        route.fulfill(status=204)

    page.on("dialog", on_dialog)
    page.route("**/pmark/**", on_planted)
    page.goto(reverse("audience:recipient_create"))
    key = page.evaluate('document.head.querySelector("meta[name=htmx-key]")?.content || ""')
    # What escaping would have let through, anywhere in the page: in our form (whose token
    # htmx would include), in an hx-disable region, with a wrong key, with dialogs or eval.
    planted = [
        ("body", '<div hx-post="/pmark/body" hx-trigger="load"></div>'),
        ("form", '<div hx-post="/pmark/form" hx-trigger="load" hx-include="closest form"></div>'),
        ("body", '<div hx-get="/pmark/ask" hx-trigger="load" hx-confirm="?" hx-prompt="?"></div>'),
        ("body", '<div data-postroom-htmx="0123" hx-post="/pmark/key" hx-trigger="load"></div>'),
        (
            "region",
            '<div data-postroom-htmx="KEY" hx-post="/pmark/region" hx-trigger="load"></div>',
        ),
        (
            "body",
            '<div hx-on:htmx:load="alert(1)" hx-vals="js:{a: alert(2)}" hx-get="/pmark/eval" '
            'hx-trigger="load"></div>',
        ),
        # The control: an element of ours sends, with the CSRF token.
        ("body", '<div data-postroom-htmx="KEY" hx-post="/pmark/ours" hx-trigger="load"></div>'),
    ]
    page.evaluate(
        """([planted, key]) => {
          const places = {
            body: document.body,
            form: document.querySelector("main form[method=post]"),
            region: document.querySelector("main [hx-disable]"),
          };
          for (const [place, html] of planted) {
            const holder = document.createElement("div");
            holder.innerHTML = html.replace("KEY", key);
            const element = holder.firstElementChild;
            (places[place] || document.body).appendChild(element);
            htmx.process(element);
          }
        }""",
        [planted, key],
    )
    page.wait_for_timeout(500)
    assert list(sent) == ["/pmark/ours"]
    assert sent["/pmark/ours"].get("x-csrftoken")
    assert dialogs == []
    close_context(page.context)
