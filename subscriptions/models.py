"""Public sign-up forms and the sign-ups waiting for their confirmation (double opt-in).

A form belongs to one workspace and names the lists it adds people to and the fields it asks.
A sign-up to lists that want a confirmation waits as a PendingSignup until its link is
followed; only then does the address join them (audience.Consent records the proof).
"""

from __future__ import annotations

import secrets

from django.db import models
from django.utils import timezone

from accounts.models import Workspace
from audience.models import RecipientList
from sending.models import SendingAccount

DEFAULT_CONFIRM_SUBJECT = "Please confirm your subscription"
DEFAULT_CONFIRM_TEXT = (
    "Hello{if first_name} {first_name}{endif},\n\n"
    "Someone, hopefully you, asked to receive our e-mails at {email} ({form_name}).\n"
    "Follow this link to confirm:\n\n{confirm_url}\n\n"
    "If it was not you, ignore this message: nothing will be sent to you."
)


def new_public_key() -> str:
    return secrets.token_urlsafe(12)


class SignupForm(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="signup_forms")
    name = models.CharField(max_length=120)
    # The form's public address (/s/<key>/): random, so that forms cannot be counted or guessed.
    public_key = models.CharField(max_length=32, unique=True, default=new_public_key)
    title = models.CharField(max_length=200, blank=True, help_text="Heading of the hosted page")
    intro = models.TextField(max_length=2000, blank=True, help_text="Text above the fields")
    lists: models.ManyToManyField[RecipientList, models.Model] = models.ManyToManyField(
        RecipientList, related_name="+"
    )
    # Field names asked besides the address: standard ones and custom field keys.
    fields = models.JSONField(default=list, blank=True)
    require_challenge = models.BooleanField(
        default=False,
        help_text="Ask the browser to solve a proof-of-work puzzle (ALTCHA) before it may "
        "send the form; the form then needs JavaScript.",
    )
    # None: the workspace's first active account.
    sending_account = models.ForeignKey(
        SendingAccount, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    confirm_subject = models.CharField(max_length=200, default=DEFAULT_CONFIRM_SUBJECT)
    confirm_text = models.TextField(max_length=10000, default=DEFAULT_CONFIRM_TEXT)
    thanks_text = models.CharField(
        max_length=500, blank=True, help_text="Shown after a confirmed sign-up"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("name", "id")
        constraints = (
            models.UniqueConstraint(fields=("workspace", "name"), name="signupform_unique_name"),
        )

    def __str__(self) -> str:
        return self.name


class PendingSignup(models.Model):
    """A sign-up waiting for its confirmation link to be followed (or for its e-mail)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    form = models.ForeignKey(SignupForm, on_delete=models.CASCADE, related_name="pending")
    email = models.EmailField(max_length=254)
    values = models.JSONField(default=dict, blank=True)  # standard fields by name
    custom = models.JSONField(default=dict, blank=True)  # typed custom values by key
    list_ids = models.JSONField(default=list)
    # Part of the signed token: a new sign-up for the same address makes older links void.
    nonce = models.CharField(max_length=32, default=new_public_key)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    signed_up_ip = models.GenericIPAddressField(null=True, blank=True)
    # Where the confirmation link points (SITE_URL, else the host the form was sent to).
    base_url = models.CharField(max_length=300)
    # The confirmation e-mail: due while send_after is set.
    send_after = models.DateTimeField(null=True, blank=True)
    send_attempts = models.PositiveSmallIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = (
            models.UniqueConstraint(fields=("form", "email"), name="pendingsignup_unique"),
        )
        indexes = (
            models.Index(
                fields=("send_after",),
                name="pendingsignup_due",
                condition=models.Q(send_after__isnull=False),
            ),
            models.Index(fields=("expires_at",), name="pendingsignup_expiry"),
        )

    def __str__(self) -> str:
        return f"{self.email} -> {self.form_id}"
