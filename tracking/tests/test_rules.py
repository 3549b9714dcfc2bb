"""The rules that act on events: the decision table, and what `apply` does with it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.tests.factories import WorkspaceFactory
from audience.models import Recipient, RecipientStatus, Suppression, SuppressionReason
from audience.services import recipients_upsert
from campaigns.models import CampaignStatus, Delivery, DeliveryStatus
from campaigns.tests.factories import CampaignFactory
from tracking import rules
from tracking.events import Fact, record
from tracking.models import BounceType, EventKind, EventSource

B, C, U, OP, R = (
    EventKind.BOUNCED,
    EventKind.COMPLAINED,
    EventKind.UNSUBSCRIBED,
    EventKind.OPENED,
    EventKind.REPLIED,
)
H, S = BounceType.HARD, BounceType.SOFT
SUP_B, SUP_C = SuppressionReason.BOUNCED, SuppressionReason.COMPLAINED
D_B, D_C = DeliveryStatus.BOUNCED, DeliveryStatus.COMPLAINED
R_B, R_C = RecipientStatus.BOUNCED, RecipientStatus.COMPLAINED

# kind, bounce type, status, soft bounces before -> suppression, delivery, recipient
TABLE = [
    (B, H, "5.1.1", 0, SUP_B, D_B, R_B),  # unknown user
    (B, H, "5.0.0", 0, SUP_B, D_B, R_B),  # failed, code says nothing more
    (B, H, "", 0, SUP_B, D_B, R_B),  # failed without a code
    (B, H, "5.2.1", 0, SUP_B, D_B, R_B),  # mailbox disabled
    (B, S, "4.1.1", 0, SUP_B, D_B, R_B),  # unknown user reported soft: an address error
    (B, S, "5.2.2", 0, "", "", ""),  # mailbox full: soft, first
    (B, S, "4.2.2", 1, "", "", ""),  # second
    (B, S, "4.2.2", 2, SUP_B, "", R_B),  # third within the window: suppressed
    (B, S, "4.4.7", 5, SUP_B, "", R_B),
    (B, H, "5.7.1", 0, "", D_B, ""),  # refused as spam: the address is fine
    (B, H, "5.7.26", 0, "", D_B, ""),  # DMARC
    (B, S, "4.7.0", 9, "", "", ""),  # greylisting/policy: never counts
    (B, H, "5.1.7", 0, "", D_B, ""),  # our sender address was refused
    (B, H, "5.1.8", 0, "", D_B, ""),
    (C, "", "", 0, SUP_C, D_C, R_C),  # a complaint: at once
    (OP, "", "", 0, "", "", ""),
    (R, "", "", 0, "", "", ""),
]


@pytest.mark.parametrize(("kind", "bounce", "status", "before", "sup", "dlv", "rcp"), TABLE)
def test_decision_table(settings, kind, bounce, status, before, sup, dlv, rcp):
    settings.BOUNCE_SOFT_LIMIT = 3
    decision = rules.decide(kind, bounce, status, before)
    assert (decision.suppress, decision.delivery_status, decision.recipient_status) == (
        sup,
        dlv,
        rcp,
    )


def test_an_unsubscribe_event_unsubscribes():
    assert rules.decide(U, "", "", 0).unsubscribe


@pytest.mark.parametrize(
    ("taken", "bounced", "complained", "paused_for"),
    [
        (499, 100, 0, ""),  # too few deliveries to judge
        (500, 25, 0, ""),  # 5 % exactly: not past
        (500, 26, 0, "bounces"),
        (1000, 0, 3, ""),  # 0.3 % exactly
        (1000, 0, 4, "complaints"),
        (499, 0, 50, ""),
        (1000, 60, 4, "complaints"),  # complaints are said first: they weigh more
    ],
)
def test_pause_thresholds(taken, bounced, complained, paused_for):
    reason = rules.pause_reason(taken, bounced, complained)
    if not paused_for:
        assert reason is None
    else:
        assert reason is not None
        assert paused_for in reason.text
        assert reason.text.startswith("Paused:")


# ----------------------------------------------------------------- apply, on the database


@pytest.fixture
def campaign(db):
    workspace = WorkspaceFactory.create()
    return CampaignFactory.create(
        workspace=workspace, name="Spring", status=CampaignStatus.RUNNING, bare=True
    )


def _deliveries(campaign, emails, status=DeliveryStatus.SENT):
    now = timezone.now()
    people = Recipient.objects.bulk_create(
        [Recipient(workspace=campaign.workspace, email=e) for e in emails]
    )
    return Delivery.objects.bulk_create(
        [
            Delivery(
                workspace=campaign.workspace,
                campaign=campaign,
                recipient=p,
                email=p.email,
                status=status,
                sent_at=now,
            )
            for p in people
        ]
    )


def _bounce(delivery, bounce_type=H, status="5.1.1", key="", when=None):
    fact = Fact(
        kind=B,
        source=EventSource.MAILBOX,
        bounce_type=bounce_type,
        status_code=status,
        source_detail="Bounces",
        dedupe_key=key,
        occurred_at=when,
    )
    event = record(fact, delivery=delivery)
    assert event is not None
    return rules.apply(event)


def test_a_hard_bounce_suppresses_names_its_source_and_marks_the_delivery(campaign):
    (delivery,) = _deliveries(campaign, ["ann@example.org"])
    _bounce(delivery)
    entry = Suppression.objects.get(workspace=campaign.workspace, email="ann@example.org")
    assert entry.reason == SuppressionReason.BOUNCED
    assert "hard bounce 5.1.1" in entry.source
    assert "Spring" in entry.source
    assert "Bounces" in entry.source
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.BOUNCED
    assert Recipient.objects.get(email="ann@example.org").status == RecipientStatus.BOUNCED


def test_a_policy_refusal_never_suppresses_the_recipient(campaign):
    (delivery,) = _deliveries(campaign, ["ann@example.org"])
    _bounce(delivery, status="5.7.1")
    assert not Suppression.objects.exists()
    assert Recipient.objects.get().status == RecipientStatus.ACTIVE


def test_soft_bounces_suppress_after_n_within_m_days(campaign, settings):
    settings.BOUNCE_SOFT_LIMIT, settings.BOUNCE_SOFT_DAYS = 3, 15
    (delivery,) = _deliveries(campaign, ["ann@example.org"])
    now = timezone.now()
    _bounce(delivery, S, "4.2.2", "k1", now - timedelta(days=20))  # too old to count
    _bounce(delivery, S, "4.2.2", "k2", now - timedelta(days=10))
    _bounce(delivery, S, "4.2.2", "k3", now - timedelta(days=1))
    assert not Suppression.objects.exists()
    _bounce(delivery, S, "5.2.2", "k4", now)
    entry = Suppression.objects.get()
    assert "3 soft bounces in 15 days" in entry.source
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT  # a soft bounce is no bounce of the message


def test_a_complaint_outweighs_an_unsubscribe_and_survives_a_reimport(campaign):
    (delivery,) = _deliveries(campaign, ["ann@example.org"])
    Suppression.objects.create(
        workspace=campaign.workspace, email="ann@example.org", reason="unsubscribed"
    )
    event = record(
        Fact(kind=C, source=EventSource.MAILBOX, detail="abuse", dedupe_key="arf1"),
        delivery=delivery,
    )
    assert event is not None
    rules.apply(event)
    assert Suppression.objects.get().reason == SuppressionReason.COMPLAINED
    assert Recipient.objects.get().status == RecipientStatus.COMPLAINED
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.COMPLAINED

    # the same address imported again, with new values: status and suppression stay
    done = recipients_upsert(
        workspace=campaign.workspace,
        rows=[{"email": "ann@example.org", "first_name": "Ann"}],
        update_existing=True,
    )
    assert (done.updated, done.rejected) == (1, []), done
    person = Recipient.objects.get()
    assert (person.first_name, person.status) == ("Ann", RecipientStatus.COMPLAINED)
    assert Suppression.objects.get().reason == SuppressionReason.COMPLAINED


def test_a_later_bounce_does_not_downgrade_a_complaint(campaign):
    (delivery,) = _deliveries(campaign, ["ann@example.org"])
    event = record(Fact(kind=C, source=EventSource.ESP), delivery=delivery)
    assert event is not None
    rules.apply(event)
    _bounce(delivery)
    assert Recipient.objects.get().status == RecipientStatus.COMPLAINED
    assert Suppression.objects.get().reason == SuppressionReason.COMPLAINED


def test_a_campaign_past_its_bounce_rate_pauses_with_the_reason(campaign, settings):
    settings.CAMPAIGN_PAUSE_BOUNCE_MIN_DELIVERIES = 20
    deliveries = _deliveries(campaign, [f"p{i}@example.test" for i in range(20)])
    _bounce(deliveries[0])  # 1 of 20: 5 %, not past
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.RUNNING
    _bounce(deliveries[1])  # 2 of 20
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.PAUSED
    assert "2 bounces in 20" in campaign.status_reason


def test_a_campaign_past_its_complaint_rate_pauses(campaign, settings):
    settings.CAMPAIGN_PAUSE_COMPLAINT_MIN_DELIVERIES = 10
    deliveries = _deliveries(campaign, [f"p{i}@example.test" for i in range(10)])
    event = record(Fact(kind=C, source=EventSource.ESP), delivery=deliveries[0])
    assert event is not None
    rules.apply(event)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.PAUSED
    assert "complaints" in campaign.status_reason


def test_a_delayed_or_other_event_changes_nothing(campaign):
    (delivery,) = _deliveries(campaign, ["ann@example.org"])
    event = record(Fact(kind=OP, source=EventSource.LINK), delivery=delivery)
    assert event is not None
    assert rules.apply(event) == rules.NOTHING
    assert not Suppression.objects.exists()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT


def _state(campaign):
    workspace = campaign.workspace
    return (
        sorted(Suppression.objects.filter(workspace=workspace).values_list("email", "reason")),
        sorted(Recipient.objects.filter(workspace=workspace).values_list("email", "status")),
        sorted(Delivery.objects.filter(campaign=campaign).values_list("email", "status")),
    )


MIXED = [  # address, kind, bounce type, status code, days ago
    ("ann@example.org", B, S, "4.2.2", 10),
    ("ann@example.org", B, S, "4.2.2", 5),
    ("ann@example.org", B, S, "4.2.2", 0),  # the third soft bounce in 15 days: suppressed
    ("bob@example.org", B, H, "5.1.1", 0),
    ("bob@example.org", C, "", "", 0),  # a complaint after a bounce: complained wins
    ("cid@example.org", C, "", "", 0),
    ("cid@example.org", B, H, "5.1.1", 0),  # a bounce after a complaint changes nothing
    ("dot@example.org", B, H, "5.7.1", 0),  # a policy refusal: the delivery only
    ("eve@example.org", R, "", "", 0),
    ("fay@example.org", B, S, "4.2.2", 0),  # one soft bounce: nothing
]


@pytest.mark.parametrize("batched", [False, True])
def test_a_batch_of_events_ends_where_one_by_one_does(campaign, settings, batched):
    """`apply_batch` (one chunk of a mailbox) leaves what `apply`, event after event, leaves:
    both runs must give the same state, which is spelled out."""
    from tracking.events import record_many

    settings.BOUNCE_SOFT_LIMIT, settings.BOUNCE_SOFT_DAYS = 3, 15
    emails = sorted({row[0] for row in MIXED})
    delivery = {d.email: d for d in _deliveries(campaign, emails)}
    now = timezone.now()
    facts = [
        (
            delivery[email],
            Fact(
                kind=kind,
                source=EventSource.MAILBOX,
                bounce_type=bounce_type,
                status_code=status,
                dedupe_key=f"k{n}",
                occurred_at=now - timedelta(days=days),
            ),
        )
        for n, (email, kind, bounce_type, status, days) in enumerate(MIXED)
    ]
    if batched:
        stored = record_many(facts + facts[:2])  # repeated dedupe keys are stored once
        assert len(stored) == len(MIXED)
        rates = rules.RateCheck()
        rules.apply_batch(stored, rates=rates)
        assert rates.campaign_ids == {campaign.pk}
    else:
        for d, fact in facts:
            event = record(fact, delivery=d)
            assert event is not None
            rules.apply(event)
    assert _state(campaign) == (
        [("ann@example.org", SUP_B), ("bob@example.org", SUP_C), ("cid@example.org", SUP_C)],
        [
            ("ann@example.org", R_B),
            ("bob@example.org", R_C),
            ("cid@example.org", R_C),
            ("dot@example.org", RecipientStatus.ACTIVE),
            ("eve@example.org", RecipientStatus.ACTIVE),
            ("fay@example.org", RecipientStatus.ACTIVE),
        ],
        [
            ("ann@example.org", DeliveryStatus.SENT),
            ("bob@example.org", D_C),
            ("cid@example.org", D_C),
            ("dot@example.org", D_B),
            ("eve@example.org", DeliveryStatus.SENT),
            ("fay@example.org", DeliveryStatus.SENT),
        ],
    )
