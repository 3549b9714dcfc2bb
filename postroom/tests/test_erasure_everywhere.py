"""Erasing a person leaves their address nowhere in the database: every text and JSON column
of every model is searched for it, so a record added later that keeps the address is caught
here too, not only the ones each app's tests know about. The privacy export of the same
history shows the person what the erasure takes.

The person was mailed (a real send), opened and bounced, replied to a bounce mailbox, was
told to a webhook endpoint, got a single e-mail, signed up again, was named in an import
report and had their data exported: each of those records names them before the erasure.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.apps import apps
from django.db import models
from django.db.models.functions import Cast
from django.utils import timezone

from accounts.audit import services as audit
from audience import services as audience
from audience.models import (
    AudienceJob,
    Consent,
    ConsentMethod,
    ImportRejection,
    JobKind,
    Recipient,
)
from audience.selectors import recipient_data
from campaigns.engine.step import Engine
from campaigns.models import Campaign, Delivery
from campaigns.services import campaign_start
from campaigns.tests.conftest import make_campaign
from core.crypto import EncryptedTextField
from core.erasure import Scrubber
from subscriptions.models import PendingSignup, SignupForm
from tracking.feedback.mailbox import Incoming
from tracking.feedback.parse import parse
from tracking.intake import MailboxIntake
from tracking.models import BounceMailbox, EventKind, EventSource
from tracking.tests.feedback_mail import reply
from tracking.tests.reporting import happened
from webhooks.collect import collect
from webhooks.tests.factories import make_endpoint

pytestmark = pytest.mark.django_db

ANN = "ann@example.test"
CARL = "carl@example.test"


def traces(address: str) -> set[str]:
    """Every model.column where the address is still written, case aside; "(encoded)" where
    it is percent-encoded (a link, a query string)."""
    found = set()
    plain, *encoded = Scrubber(address).spellings
    for model in apps.get_models():
        if not model._meta.managed or model._meta.proxy:
            continue
        for field in model._meta.concrete_fields:
            rows = model._default_manager.all()
            if isinstance(field, models.JSONField):
                rows = rows.annotate(_text=Cast(field.name, models.TextField()))
                lookup = "_text__icontains"
            elif isinstance(field, models.CharField | models.TextField) and not isinstance(
                field, EncryptedTextField
            ):
                lookup = f"{field.name}__icontains"
            else:
                continue
            if rows.filter(**{lookup: plain}).exists():
                found.add(f"{model.__name__}.{field.name}")
            if any(rows.filter(**{lookup: spelling}).exists() for spelling in encoded):
                found.add(f"{model.__name__}.{field.name} (encoded)")
    return found


def test_the_scan_reads_every_kind_of_column(personas):
    """The search itself: a JSON value and a text column are both found, case aside."""
    form = SignupForm.objects.create(workspace=personas.workspace, name="News")
    PendingSignup.objects.create(
        workspace=personas.workspace, form=form, email=ANN.upper(), expires_at=timezone.now()
    )
    audit.record("privacy.exported", workspace=personas.workspace, person=ANN)
    assert {"PendingSignup.email", "AuditEntry.detail"} <= traces(ANN)


def _a_full_history(personas, smtp_sink, settings) -> None:
    settings.SENDING_ALLOW_PRIVATE_HOSTS = True
    make_endpoint(personas.workspace, "http://127.0.0.1:9/hook", ["*"])
    setup = make_campaign(personas.workspace, smtp_sink, emails=[ANN, CARL])
    campaign_start(campaign=setup.campaign)
    while Engine(batch_size=10).step():
        pass
    ann = Delivery.objects.get(campaign=setup.campaign, email=ANN)
    now = timezone.now()
    happened(ann, EventKind.OPENED, now, user_agent="Mozilla/5.0")
    happened(
        ann,
        EventKind.BOUNCED,
        now,
        source=EventSource.MAILBOX,
        detail=f"550 5.1.1 <{ANN.upper()}>: mailbox full",
    )
    mailbox = BounceMailbox.objects.create(
        workspace=personas.workspace, name="Replies", host="imap.example.test", username="u"
    )
    raw = reply(
        sender=f"Ann <{ANN}>", to="news@acme.test", message_id=ann.message_id, text=f"I'm {ANN}"
    )
    # And a message nothing could read, kept with its start for a person to read.
    unread = f"From: {ANN}\nSubject: ?\nMessage-ID: <u.1@x>\n\nnothing a program reads\n".encode()
    intake = MailboxIntake(mailbox)
    for n, message in enumerate((raw, unread)):
        intake(Incoming(key=f"imap:1:{n}", size=len(message), raw=message, feedback=parse(message)))
    intake.finish()
    collect(now=timezone.now() + timedelta(minutes=5))
    Campaign.objects.create(workspace=personas.workspace, name=f"E-mail to {ANN}", is_single=True)
    job = AudienceJob.objects.create(workspace=personas.workspace, kind=JobKind.IMPORT)
    ImportRejection.objects.create(job=job, line=7, email=ANN.upper(), reason="", duplicate=True)
    form = SignupForm.objects.create(workspace=personas.workspace, name="News")
    PendingSignup.objects.create(
        workspace=personas.workspace, form=form, email=ANN, expires_at=now + timedelta(days=1)
    )
    person = Recipient.objects.get(workspace=personas.workspace, email=ANN)
    Consent.objects.create(
        workspace=personas.workspace,
        recipient=person,
        list_name="News",
        method=ConsentMethod.DOUBLE,
        source="News",
        signed_up_at=now,
    )
    audit.record("privacy.exported", workspace=personas.workspace, target=person)
    # A download of the recipients found by the address keeps its query string.
    audit.record("export.downloaded", workspace=personas.workspace, filter="q=ann%40example.test")


@pytest.mark.parametrize("keep_blocked", [False, True])
def test_an_erased_person_is_written_nowhere(personas, smtp_sink, settings, keep_blocked):
    _a_full_history(personas, smtp_sink, settings)
    before = traces(ANN)
    # What the history planted: the scan below would prove nothing without it.
    assert {
        "Recipient.email",
        "Delivery.email",
        "Attempt.email",
        "Event.email",
        "Event.payload",
        "MailboxMessage.sender",
        "MailboxMessage.excerpt",
        "Campaign.name",
        "ImportRejection.email",
        "PendingSignup.email",
        "AuditEntry.target_label",
        "AuditEntry.detail (encoded)",
    } <= before, before
    carl = traces(CARL)

    audience.recipient_erase(
        recipient=Recipient.objects.get(workspace=personas.workspace, email=ANN),
        keep_blocked=keep_blocked,
    )

    left = {"Suppression.email", "AuditEntry.target_label"} if keep_blocked else set()
    assert traces(ANN) == left
    assert traces(CARL) == carl  # nobody else's records lost a thing


def test_the_privacy_export_shows_what_the_erasure_takes(personas, smtp_sink, settings):
    _a_full_history(personas, smtp_sink, settings)

    data = recipient_data(Recipient.objects.get(workspace=personas.workspace, email=ANN))

    [message] = data["messages"]
    assert (message["address"], message["status"]) == (ANN, "sent")
    assert [a["outcome"] for a in message["attempts"]] == ["sent"]
    assert sorted(e["kind"] for e in data["events"]) == ["bounced", "opened", "replied"]
    assert [m["sender"] for m in data["mailbox_messages"]] == [ANN, ANN]
    [signup] = data["sign_ups_waiting"]
    assert signup["form"] == "News"
    assert [(c["list"], c["method"]) for c in data["consents"]] == [("News", "double")]
    assert CARL not in json.dumps(data)  # nobody else's data
