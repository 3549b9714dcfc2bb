"""The embedded worker's duties, wired here on top because they come from every layer.

What the worker runs: the delivery engine (start due campaigns, claim and send a batch, finish
done ones), the audience's background jobs (CSV imports, bulk actions), outgoing webhooks, the
members' notifications (in the app and by e-mail), the confirmation e-mails of sign-ups, the
bounce mailboxes, and the hourly clean-up. Each group of DUTY_GROUPS runs in a thread of its
own (campaigns.workers.embedded.ThreadedWorker), so that an import of a million rows never
holds up sending, nor sending the webhooks.
"""

from __future__ import annotations

from collections.abc import Callable

from audience.jobs import run_next_job
from automation.ab_decisions import run_ab_test_step
from automation.sequences.schedule import run_sequence_step
from campaigns.engine.step import run_engine_step
from notifications.duty import run_notification_step
from postroom.duties import run_bounce_mailbox_step
from postroom.housekeeping import run_housekeeping_step
from subscriptions.confirmations import run_confirmation_step
from webhooks.dispatch import run_webhook_step

DUTY_GROUPS: dict[str, list[Callable[[], bool]]] = {
    "engine": [run_engine_step],
    "imports": [run_next_job],
    # Its own thread: a pass that schedules many steps holds up neither sending nor feedback.
    "sequences": [run_sequence_step],
    "feedback": [
        run_webhook_step,
        run_notification_step,
        run_confirmation_step,
        run_bounce_mailbox_step,
        run_ab_test_step,
        run_housekeeping_step,
    ],
}

# The groups that need not look for work more often than this when idle, whatever the
# worker's --idle (a short one keeps the engine quick to start a batch: tests, benchmarks).
# Polled 20 times a second, their queries took a tenth of a sending worker's time.
LEAST_IDLE_SECONDS: dict[str, float] = {"imports": 1.0, "feedback": 1.0, "sequences": 1.0}

DUTIES: list[Callable[[], bool]] = [step for steps in DUTY_GROUPS.values() for step in steps]
