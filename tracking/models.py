"""Tracking's tables: what came back after sending (events), and the mailboxes bounces,
complaints and replies come back to."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Workspace
from campaigns.models import Campaign, Delivery
from core.crypto import EncryptedTextField
from sending.models import OAuthCredentials, SendingAccount


class MailboxProtocol(models.TextChoices):
    IMAP = "imap", "IMAP"
    POP3 = "pop3", "POP3"


class MailboxSecurity(models.TextChoices):
    TLS = "tls", _("TLS")
    STARTTLS = "starttls", _("STARTTLS")
    NONE = "none", _("None (only where private hosts are allowed)")


class MailboxAuth(models.TextChoices):
    PASSWORD = "password", _("Password")
    OAUTH2 = "oauth2", _("OAuth2 (XOAUTH2)")


class MailboxDisposal(models.TextChoices):
    MOVE = "move", _("Move to a folder (IMAP)")
    DELETE = "delete", _("Delete")


class BounceMailbox(OAuthCredentials):
    """A mailbox a workspace's bounces, complaints and replies come back to, polled by the
    worker (`tracking.services.bounce_mailbox_poll`). It signs in with a password or with
    OAuth2 (XOAUTH2), whose fields and token refresh are a sending account's
    (`sending.models.OAuthCredentials`, `sending.oauth`); secrets are encrypted the same way.
    The poll state (UIDVALIDITY, last UID, POP3 UIDLs left behind) is kept here so
    that no message is handled twice."""

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="bounce_mailboxes"
    )
    name = models.CharField(max_length=120)
    enabled = models.BooleanField(default=True)
    protocol = models.CharField(
        max_length=8, choices=MailboxProtocol.choices, default=MailboxProtocol.IMAP
    )
    host = models.CharField(max_length=255)
    port = models.PositiveIntegerField(default=993)
    security = models.CharField(
        max_length=16, choices=MailboxSecurity.choices, default=MailboxSecurity.TLS
    )
    username = models.CharField(max_length=255)
    auth = models.CharField(
        max_length=16, choices=MailboxAuth.choices, default=MailboxAuth.PASSWORD
    )
    password = EncryptedTextField(blank=True, default="")
    folder = models.CharField(max_length=255, default="INBOX")
    disposal = models.CharField(
        max_length=8, choices=MailboxDisposal.choices, default=MailboxDisposal.MOVE
    )
    processed_folder = models.CharField(max_length=255, default="Processed")

    uidvalidity = models.BigIntegerField(null=True, blank=True, editable=False)
    last_uid = models.BigIntegerField(default=0, editable=False)
    skipped_uidls = models.JSONField(default=list, blank=True, editable=False)
    last_polled_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_error = models.CharField(max_length=1000, blank=True, editable=False)
    last_error_at = models.DateTimeField(null=True, blank=True, editable=False)

    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ("name", "id")
        indexes = [models.Index(fields=("workspace", "enabled"))]

    def __str__(self) -> str:
        return f"{self.name} ({self.username}@{self.host})"

    def __repr__(self) -> str:
        # Spelled out so that no secret can ever reach a log through repr().
        return f"<BounceMailbox {self.pk} {self.protocol} {self.username}@{self.host}>"


class EventKind(models.TextChoices):
    DELIVERED = "delivered", _("Delivered")  # an e-mail service says the receiver took it
    BOUNCED = "bounced", _("Bounced")
    COMPLAINED = "complained", _("Complained")
    UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")
    OPENED = "opened", _("Opened")
    CLICKED = "clicked", _("Clicked")
    REPLIED = "replied", _("Replied")


class BounceType(models.TextChoices):
    HARD = "hard", _("Hard")
    SOFT = "soft", _("Soft")


class EventSource(models.TextChoices):
    LINK = "link", _("Tracking link")  # our pixel, click redirect, unsubscribe link
    MAILBOX = "mailbox", _("Bounce mailbox")
    ESP = "esp", _("E-mail service webhook")
    SMTP = "smtp", _("SMTP reply")
    MANUAL = "manual", _("By hand")


class Event(models.Model):
    """An append-only fact about a delivery: what came back after it was sent.

    Written by `tracking.events.record` only, never updated. `machine` marks what a program
    did rather than a person: an open by a privacy proxy (Apple MPP) or an image cache, a click
    by a link scanner. Reports count people by default, so they leave those out.

    `dedupe_key` makes a fact that arrives twice (an ESP retrying its webhook, a bounce found
    again in a mailbox whose state was lost) count once; it is empty where repeats are facts
    (a second open). On PostgreSQL the table is partitioned by month of `occurred_at`
    (migration 0003), so the primary key there is (id, occurred_at) and there are no foreign
    keys pointing at it.
    """

    # No single-column indexes on workspace and campaign: the composite indexes below start
    # with them and serve their lookups, and every open and click paid for two more entries.
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, null=True, blank=True, related_name="+", db_index=False
    )
    # No database constraint: deliveries of a deleted campaign go, their history stays
    # readable by campaign; and a partitioned table keeps its constraints few.
    delivery = models.ForeignKey(
        Delivery,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        # Its lookups go through tracking_event_recent (delivery first); a second, narrower
        # index drew the planner to it and to filtering a delivery's whole history by time.
        db_index=False,
        null=True,
        blank=True,
        related_name="+",
    )
    # The delivery's sending account, copied when the event is written, so that a report's
    # figures per account group the campaign's events alone (joined to its deliveries
    # instead, a million-delivery campaign took 2.4 s). Not a constraint: a deleted account
    # leaves its id, which the report shows as "—".
    account = models.ForeignKey(
        SendingAccount,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        null=True,
        blank=True,
        related_name="+",
    )
    email = models.EmailField(max_length=254, blank=True)
    # Who wrote a reply (or an unsubscribe request by mail): its Reply-To or From, which need
    # not be the address the delivery went to (a forward, an assistant, a second address).
    sender = models.EmailField(max_length=254, blank=True, default="", db_default="")
    kind = models.CharField(max_length=16, choices=EventKind.choices)
    bounce_type = models.CharField(max_length=8, choices=BounceType.choices, blank=True)
    status_code = models.CharField(max_length=16, blank=True)  # RFC 3463, "5.1.1"
    detail = models.CharField(max_length=1000, blank=True)  # diagnostic, feedback type, ...
    link_index = models.PositiveSmallIntegerField(null=True, blank=True)
    url = models.CharField(max_length=2000, blank=True)
    machine = models.BooleanField(default=False)
    source = models.CharField(max_length=16, choices=EventSource.choices)
    source_detail = models.CharField(max_length=120, blank=True)  # "postmark", mailbox name
    user_agent = models.CharField(max_length=500, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)  # truncated per privacy setting
    dedupe_key = models.CharField(max_length=200, blank=True)
    occurred_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ("-occurred_at", "-id")
        indexes = [
            models.Index(fields=("campaign", "kind", "occurred_at")),
            models.Index(fields=("workspace", "occurred_at")),
            models.Index(fields=("workspace", "email", "kind", "occurred_at")),
            # A click reads its delivery's opens and clicks of the last seconds: bounded by time
            # in the index, not by reading every event the delivery ever had.
            models.Index(fields=("delivery", "kind", "occurred_at"), name="tracking_event_recent"),
            # The webhook collector reads a workspace's events after its cursor, in id order.
            models.Index(fields=("workspace", "id"), name="tracking_event_workspace_id"),
            models.Index(
                fields=("workspace", "dedupe_key"),
                name="tracking_event_dedupe",
                condition=~models.Q(dedupe_key=""),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.email} {self.occurred_at:%Y-%m-%d %H:%M}"


class MailboxOutcome(models.TextChoices):
    RECORDED = "recorded", _("Recorded")  # events were recorded for it
    IGNORED = "ignored", _("Nothing to do")  # a delayed DSN, an auto-reply, a not-spam report
    UNMATCHED = "unmatched", _("Not matched")  # read, but about no delivery of this workspace
    UNPARSED = "unparsed", _("Not understood")
    SKIPPED = "skipped", _("Too large")  # left in the mailbox, not downloaded


class MailboxMessage(models.Model):
    """One message taken from a bounce mailbox, kept so that what was not acted on (not
    understood, not ours, too large) stays visible and counted; `key` (mailbox and the
    message's own Message-ID) makes a message polled twice count once."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    mailbox = models.ForeignKey(BounceMailbox, on_delete=models.CASCADE, related_name="messages")
    key = models.CharField(max_length=300)
    outcome = models.CharField(max_length=16, choices=MailboxOutcome.choices)
    kind = models.CharField(max_length=16, blank=True)  # tracking.feedback.parse.Kind
    events = models.PositiveSmallIntegerField(default=0)
    note = models.CharField(max_length=1000, blank=True)
    subject = models.CharField(max_length=1000, blank=True)
    sender = models.CharField(max_length=320, blank=True)
    excerpt = models.TextField(blank=True)  # the start of the raw message, for a person to read
    size = models.PositiveIntegerField(default=0)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("-received_at", "-id")
        constraints = [
            models.UniqueConstraint(fields=("mailbox", "key"), name="mailbox_message_once"),
        ]
        indexes = [
            models.Index(fields=("workspace", "outcome", "received_at")),
            # A mailbox's page and API, newest first, a page at a time: without it every page
            # of a mailbox with all outcomes shown sorted all of the workspace's messages.
            models.Index(fields=("mailbox", "received_at", "id"), name="mailbox_message_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.outcome} {self.key}"
