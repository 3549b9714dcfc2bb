"""Duties that belong to no single app: polling the bounce mailboxes, for both drivers.

The embedded worker lists it in `postroom.worker.DUTIES`; Celery beat queues
`bounce_mailbox_pass` (`CELERY_BEAT_SCHEDULE` in settings). A step does one bounded piece of
work and says whether more is waiting right now.
"""

from __future__ import annotations

import logging

from celery import shared_task

from tracking.services import bounce_mailboxes_poll_due

log = logging.getLogger(__name__)


def run_bounce_mailbox_step() -> bool:
    """Poll the bounce mailboxes that are due (each every BOUNCE_MAILBOX_INTERVAL seconds);
    True when one has more messages waiting. A failing mailbox keeps its error on its row and
    never stops the others, nor this worker's other duties."""
    done = bounce_mailboxes_poll_due()
    if done.polled:
        log.info(
            "bounce mailboxes: %d polled, %d failed, %s", done.polled, done.failed, done.counts
        )
    return done.more


@shared_task(name="postroom.bounce_mailbox_pass", ignore_result=True)  # type: ignore[untyped-decorator]
def bounce_mailbox_pass() -> int:
    """Celery: poll the due mailboxes, again while one has more waiting (bounded)."""
    rounds = 1
    while run_bounce_mailbox_step() and rounds < 20:
        rounds += 1
    return rounds
