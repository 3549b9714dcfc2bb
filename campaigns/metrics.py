"""What the delivery engine counts and logs per batch: the metric objects and the two calls.

The engine may not import `postroom` (the project package on top), so its Prometheus objects
live here, beside it. After each batch the engine calls `observe_batch(...)` and
`engine_batch_log(...)`; nothing else is needed: `/metrics` (postroom.metrics) exposes them.

With several processes (web server processes, `manage.py worker`, Celery) prometheus-client writes
each process's values to files in PROMETHEUS_MULTIPROC_DIR, and `/metrics` adds them up; the
variable must be set before any process starts (see .env.example).
"""

from __future__ import annotations

import logging

from prometheus_client import Counter, Histogram

logger = logging.getLogger("postroom.engine")

# Label values: an account's id as text; a campaign's kind is "campaign" or "single" (a
# one-off e-mail, Campaign.is_single).
MESSAGES = Counter(
    "postroom_messages",
    "Messages the engine handled, by outcome (sent, deferred, failed).",
    ("account", "kind", "outcome"),
)
CLAIMED = Counter(
    "postroom_engine_claimed",
    "Deliveries the engine claimed (leased) for sending.",
    ("account", "kind"),
)
QUOTA_WAITS = Counter(
    "postroom_quota_waits",
    "Deliveries put back to wait for room on their campaign's accounts, by why: a daily or "
    "hourly limit, a minimum wait, no active account (sending.quota.WAIT_KINDS).",
    ("reason",),
)
BATCH_SECONDS = Histogram(
    "postroom_engine_batch_seconds",
    "Time one engine batch spent in each phase (claim, send, record).",
    ("phase",),
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)


def campaign_kind(is_single: bool) -> str:
    return "single" if is_single else "campaign"


def observe_batch(
    account_id: int | None,
    kind: str,
    claimed: int,
    sent: int,
    deferred: int,
    failed: int,
    claim_s: float,
    send_s: float,
    record_s: float,
) -> None:
    """Count one batch of the engine: what it claimed, how it ended, how long each phase took."""
    account = "" if account_id is None else str(account_id)
    CLAIMED.labels(account, kind).inc(claimed)
    for outcome, count in (("sent", sent), ("deferred", deferred), ("failed", failed)):
        # inc(0) still creates the series, so a rate() over it starts at the first batch.
        MESSAGES.labels(account, kind, outcome).inc(count)
    for phase, seconds in (("claim", claim_s), ("send", send_s), ("record", record_s)):
        BATCH_SECONDS.labels(phase).observe(max(seconds, 0.0))


def engine_batch_log(
    *,
    campaign_id: int | None,
    account_id: int | None,
    kind: str,
    claimed: int,
    sent: int,
    deferred: int,
    failed: int,
    claim_s: float,
    send_s: float,
    record_s: float,
) -> None:
    """One structured line per engine batch (ids and figures only: no address, no body)."""
    logger.info(
        "engine batch: campaign %s account %s claimed %d sent %d deferred %d failed %d",
        campaign_id,
        account_id,
        claimed,
        sent,
        deferred,
        failed,
        extra={
            "event": "engine.batch",
            "campaign_id": campaign_id,
            "account_id": account_id,
            "kind": kind,
            "claimed": claimed,
            "sent": sent,
            "deferred": deferred,
            "failed": failed,
            "claim_seconds": round(claim_s, 4),
            "send_seconds": round(send_s, 4),
            "record_seconds": round(record_s, 4),
        },
    )


_kinds: dict[int, str] = {}  # campaign id -> kind, read once per process


def forget_kinds() -> None:
    """Forget the campaigns' kinds read so far: for tests, whose rolled-back campaigns leave
    their ids to the next test's (a campaign's kind never changes, and ids are not reused
    by a running site)."""
    _kinds.clear()


def _kind_of(campaign_ids: set[int]) -> dict[int, str]:
    from campaigns.models import Campaign  # models load after the app registry

    missing = campaign_ids - _kinds.keys()
    if missing:
        for pk, is_single in Campaign.objects.filter(pk__in=missing).values_list("pk", "is_single"):
            _kinds[pk] = campaign_kind(is_single)
    return {pk: _kinds.get(pk, "campaign") for pk in campaign_ids}


def written(rows: list[tuple[int, int | None, str, bool]], record_s: float) -> None:
    """The engine wrote a flush of outcomes: (campaign id, account id, state, tried) each.

    Counted by account and kind; one log line per campaign and account of the flush. Only
    tries count as messages (a delivery released untried, or suppressed, is not one).
    """
    BATCH_SECONDS.labels("record").observe(max(record_s, 0.0))
    kinds = _kind_of({campaign for campaign, _, _, _ in rows})
    groups: dict[tuple[int, int | None], dict[str, int]] = {}
    for campaign, account, state, tried in rows:
        if not tried:
            continue
        group = groups.setdefault((campaign, account), {"sent": 0, "deferred": 0, "failed": 0})
        group[_category(state)] += 1
    for (campaign, account), counts in groups.items():
        label = "" if account is None else str(account)
        for outcome, count in counts.items():
            if count:
                MESSAGES.labels(label, kinds[campaign], outcome).inc(count)
        engine_batch_log(
            campaign_id=campaign,
            account_id=account,
            kind=kinds[campaign],
            claimed=sum(counts.values()),
            sent=counts["sent"],
            deferred=counts["deferred"],
            failed=counts["failed"],
            claim_s=0.0,
            send_s=0.0,
            record_s=record_s,
        )


def claimed(count: int, claim_s: float) -> None:
    """The engine claimed `count` deliveries in `claim_s` seconds."""
    BATCH_SECONDS.labels("claim").observe(max(claim_s, 0.0))
    CLAIMED.labels("", "any").inc(count)


def _category(state: str) -> str:
    if state == "sent":
        return "sent"
    return "deferred" if state in ("queued", "deferred") else "failed"


def quota_waited(reason: str, count: int) -> None:
    """Count deliveries of a batch that wait for room (limits), by the kind of wait."""
    QUOTA_WAITS.labels(reason).inc(count)
