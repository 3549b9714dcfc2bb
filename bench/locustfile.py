"""People using Postroom while a campaign sends: the load of bench/bench_load.py.

Each simulated user signs in with the workspace owner's password (a session of its own),
then browses: the dashboard, the campaign list, a finished campaign's page and the sending
one's (with its progress poll), the recipients (first page, a search, a sort, the next page),
the log of attempts, and calls the REST API with an API key of its own (API keys are
throttled one by one, so 200 users sharing one key would measure the throttle, not the
server). Pauses of 1 to 5 seconds between two actions.

Locust runs from its own venv (`make bench-load` makes var/locust-venv); it is no dependency of
Postroom. bench_load.py passes what the users need in the environment:

    LOAD_EMAIL, LOAD_PASSWORD    the owner who signs in
    LOAD_KEYS                    a file with one raw API key a line
    LOAD_DONE, LOAD_LIVE         the finished campaign's id and the sending one's
"""

from __future__ import annotations

import itertools
import os
import random
import re
from pathlib import Path

from locust import HttpUser, between, events, task

EMAIL = os.environ.get("LOAD_EMAIL", "")
PASSWORD = os.environ.get("LOAD_PASSWORD", "")
KEYS = Path(os.environ["LOAD_KEYS"]).read_text().split() if os.environ.get("LOAD_KEYS") else []
DONE = os.environ.get("LOAD_DONE", "1")
LIVE = os.environ.get("LOAD_LIVE", "2")
RECIPIENTS = int(os.environ.get("LOAD_RECIPIENTS", "100000"))

TIMES = Path(os.environ["LOAD_TIMES"]).open("a") if os.environ.get("LOAD_TIMES") else None  # noqa: SIM115
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
NEXT = re.compile(r'href="\?([^"]*after=[^"]+)" rel="next"')
_key_numbers = itertools.count()


@events.request.add_listener
def record(request_type, name, response_time, response, exception, start_time=0.0, **kw):
    """Each request's start, name, time and status, for figures over part of the run (after
    the sign-ins: bench_load.py's steady state)."""
    if TIMES is not None:
        status = getattr(response, "status_code", 0) or 0
        TIMES.write(f"{start_time:.3f},{name},{response_time:.1f},{status}\n")


@events.quitting.add_listener
def close_times(**kw):
    if TIMES is not None:
        TIMES.close()


class Person(HttpUser):
    wait_time = between(1, 5)

    def on_start(self) -> None:
        self.api_key = KEYS[next(_key_numbers) % len(KEYS)] if KEYS else ""
        page = self.client.get("/accounts/login/", name="login form")
        found = CSRF.search(page.text)
        self.client.post(
            "/accounts/login/",
            data={
                "csrfmiddlewaretoken": found.group(1) if found else "",
                "username": EMAIL,
                "password": PASSWORD,
                "next": "/",
            },
            name="login",
        )

    def api(self, path: str, name: str) -> None:
        headers = {"Authorization": f"Bearer {self.api_key}"}
        self.client.get(path, headers=headers, name=name)

    # The pages.

    @task(4)
    def dashboard(self) -> None:
        self.client.get("/", name="dashboard")

    @task(3)
    def campaigns(self) -> None:
        self.client.get("/campaigns/", name="campaigns")

    @task(2)
    def page_done(self) -> None:
        self.client.get(f"/campaigns/{DONE}/", name="campaign page (completed)")

    @task(2)
    def page_live(self) -> None:
        self.client.get(f"/campaigns/{LIVE}/", name="campaign page (sending)")

    @task(3)
    def progress_live(self) -> None:  # what the campaign page polls while it sends
        self.client.get(f"/campaigns/{LIVE}/progress/", name="campaign progress (sending)")

    @task(3)
    def recipients(self) -> None:
        page = self.client.get("/recipients/", name="recipients")
        found = NEXT.search(page.text)
        if found and random.random() < 0.5:
            query = found.group(1).replace("&amp;", "&")
            self.client.get(f"/recipients/?{query}", name="recipients (next page)")

    @task(2)
    def recipients_search(self) -> None:
        number = random.randrange(RECIPIENTS)
        self.client.get(f"/recipients/?q=r{number}@", name="recipients (search)")

    @task(1)
    def recipients_sorted(self) -> None:
        column = random.choice(("last_name", "company", "created_at"))
        direction = random.choice(("asc", "desc"))
        self.client.get(f"/recipients/?sort={column}&dir={direction}", name="recipients (sorted)")

    @task(1)
    def log(self) -> None:
        self.client.get("/logs/", name="log")

    # The API, with the user's own key.

    @task(1)
    def api_campaigns(self) -> None:
        self.api("/api/campaigns/", "api campaigns")

    @task(1)
    def api_campaign(self) -> None:
        self.api(f"/api/campaigns/{LIVE}/", "api campaign (sending)")

    @task(1)
    def api_recipients(self) -> None:
        number = random.randrange(RECIPIENTS)
        self.api(f"/api/recipients/?q=r{number}@", "api recipients (search)")

    @task(1)
    def api_deliveries(self) -> None:
        self.api(f"/api/deliveries/?campaign_id={LIVE}", "api deliveries")

    @task(1)
    def api_dashboard(self) -> None:
        self.api("/api/dashboard/", "api dashboard")
