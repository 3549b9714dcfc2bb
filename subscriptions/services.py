"""Writes of sign-up forms: managing forms, taking a sign-up, confirming it.

A sign-up never tells the person (or a robot) more than "check your inbox": a suppressed
address, a robot caught by the honeypot and a real sign-up all get the same answer, so that
a form cannot be used to learn which addresses a workspace knows or has suppressed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.audit import services as audit
from accounts.models import Workspace
from audience.emails import InvalidEmail, normalize_email
from audience.models import ConsentMethod, RecipientList
from audience.selectors import is_suppressed
from audience.services import ConsentFacts, clean_custom_values, recipient_subscribe
from content.rendering import TemplateParts, part_errors
from sending.models import SendingAccount
from subscriptions.fields import CONFIRM_PLACEHOLDERS, askable_fields
from subscriptions.models import PendingSignup, SignupForm, new_public_key
from subscriptions.tokens import TokenExpired, TokenInvalid, read_token
from tracking.hits import stored_ip


class SubmitOutcome(StrEnum):
    PENDING = "pending"  # a confirmation e-mail will go out
    JOINED = "joined"  # single opt-in lists only: joined at once
    IGNORED = "ignored"  # suppressed: nothing stored, nothing sent (the answer is the same)


class ConfirmOutcome(StrEnum):
    CONFIRMED = "confirmed"
    ALREADY = "already"
    EXPIRED = "expired"
    INVALID = "invalid"


@dataclass(frozen=True)
class FormSettings:
    name: str
    lists: Sequence[RecipientList]
    fields: Sequence[str] = ()
    title: str = ""
    intro: str = ""
    require_challenge: bool = False
    sending_account: SendingAccount | None = None
    confirm_subject: str = ""
    confirm_text: str = ""
    thanks_text: str = ""


# --------------------------------------------------------------------------- forms


def _check(workspace: Workspace, given: FormSettings, form: SignupForm | None) -> None:
    errors: dict[str, str] = {}
    name = given.name.strip()
    taken = SignupForm.objects.filter(workspace=workspace, name=name)
    if form is not None:
        taken = taken.exclude(pk=form.pk)
    if not name or taken.exists():
        errors["name"] = "Choose a name no other form has."
    if not given.lists:
        errors["lists"] = "Choose at least one list."
    elif any(item.workspace_id != workspace.pk for item in given.lists):
        errors["lists"] = "Choose lists of this workspace."
    unknown = set(given.fields) - set(askable_fields(workspace))
    if unknown:
        errors["fields"] = f"Unknown fields: {', '.join(sorted(unknown))}."
    account = given.sending_account
    if account is not None and account.workspace_id != workspace.pk:
        errors["sending_account"] = "Choose an account of this workspace."
    parts = TemplateParts(subject=given.confirm_subject, text=given.confirm_text)
    for error in part_errors(parts, CONFIRM_PLACEHOLDERS):
        errors["confirm_subject" if error.part == "subject" else "confirm_text"] = str(error)
    if "{confirm_url}" not in given.confirm_text:
        errors.setdefault("confirm_text", "The message needs the link: {confirm_url}.")
    if errors:
        raise ValidationError(errors)


def _apply(form: SignupForm, given: FormSettings) -> None:
    form.name = given.name.strip()
    form.fields = list(dict.fromkeys(given.fields))
    form.title, form.intro = given.title, given.intro
    form.require_challenge = given.require_challenge
    form.sending_account = given.sending_account
    form.confirm_subject, form.confirm_text = given.confirm_subject, given.confirm_text
    form.thanks_text = given.thanks_text


@transaction.atomic
def form_create(*, workspace: Workspace, given: FormSettings) -> SignupForm:
    """Create a sign-up form. Raises ValidationError naming each faulty setting."""
    _check(workspace, given, None)
    form = SignupForm(workspace=workspace, public_key=new_public_key())
    _apply(form, given)
    form.save()
    form.lists.set(given.lists)
    audit.record("signup_form.created", workspace=workspace, target=form)
    return form


@transaction.atomic
def form_update(*, form: SignupForm, given: FormSettings) -> SignupForm:
    """Change a form; its public address stays. Raises ValidationError."""
    _check(form.workspace, given, form)
    before = _settings_of(form)
    _apply(form, given)
    form.save()
    form.lists.set(given.lists)
    after = _settings_of(form)
    if changed := sorted(name for name in after if after[name] != before[name]):
        audit.record("signup_form.changed", workspace=form.workspace, target=form, fields=changed)
    return form


def _settings_of(form: SignupForm) -> dict[str, object]:
    """What a user sets on a form, by field name (the audit names what changed, no values)."""
    kept = ("id", "workspace_id", "public_key", "created_at")
    values: dict[str, object] = {
        field.name: getattr(form, field.attname)
        for field in form._meta.concrete_fields
        if field.attname not in kept
    }
    values["lists"] = sorted(form.lists.values_list("pk", flat=True)) if form.pk else []
    return values


@transaction.atomic
def form_delete(*, form: SignupForm) -> None:
    """Delete a form and the sign-ups still waiting for confirmation; their links stop working.
    People who already joined stay, with their consent."""
    audit.record("signup_form.deleted", workspace=form.workspace, target=form)
    form.delete()


# --------------------------------------------------------------------------- sign-ups


def signups_erase(*, workspace: Workspace, email: str) -> int:
    """Delete the address's sign-ups waiting for confirmation (right to erasure): their links
    stop working. Named in settings.RECIPIENT_ERASERS; how many went."""
    deleted, _ = PendingSignup.objects.filter(workspace=workspace, email__iexact=email).delete()
    return deleted


def clean_address(email: str) -> str:
    try:
        return normalize_email(email)
    except InvalidEmail as exc:
        raise ValidationError({"email": str(exc)}) from exc


@transaction.atomic
def signup_submit(
    *,
    form: SignupForm,
    email: str,
    values: dict[str, str],
    custom: dict[str, str],
    ip: str,
    base_url: str,
    now: datetime,
) -> SubmitOutcome:
    """Take a sign-up: join the single opt-in lists at once, and keep a pending sign-up for
    the others, whose confirmation e-mail the worker sends (confirmations_send_due).

    Only the fields the form asks are kept. Raises ValidationError for an invalid address or
    custom value. A suppressed address is IGNORED: nothing is stored or sent.
    """
    workspace = form.workspace
    address = clean_address(email)
    asked = set(form.fields)
    values = {k: v.strip()[:200] for k, v in values.items() if k in asked}
    fields = clean_custom_values(workspace, {k: v for k, v in custom.items() if k in asked})
    if is_suppressed(workspace, address):
        return SubmitOutcome.IGNORED
    lists = list(form.lists.all())
    kept_ip = stored_ip(ip, workspace.reader_ips)
    single = [item for item in lists if item.single_opt_in]
    if single:
        facts = ConsentFacts(ConsentMethod.SINGLE, form.name, now, kept_ip)
        recipient_subscribe(
            workspace=workspace,
            email=address,
            values=values,
            fields=fields,
            lists=single,
            consent=facts,
        )
    double = [item.pk for item in lists if not item.single_opt_in]
    if not double:
        return SubmitOutcome.JOINED
    PendingSignup.objects.update_or_create(
        form=form,
        email=address,
        defaults={
            "workspace": workspace,
            "values": values,
            "custom": fields,
            "list_ids": double,
            "nonce": new_public_key(),  # older links for this address stop working
            "created_at": now,
            "expires_at": now + timedelta(seconds=settings.SIGNUP_CONFIRM_MAX_AGE),
            "signed_up_ip": kept_ip,
            "base_url": base_url,
            "send_after": now,
            "send_attempts": 0,
            "sent_at": None,
            "last_error": "",
            "confirmed_at": None,
        },
    )
    return SubmitOutcome.PENDING


@dataclass(frozen=True)
class Confirmation:
    outcome: ConfirmOutcome
    form: SignupForm | None = None


@transaction.atomic
def signup_confirm(*, token: str, ip: str, now: datetime) -> Confirmation:
    """Follow a confirmation link: the address joins the form's lists, with its consent
    recorded (time, address as the workspace keeps it). Following it again changes nothing
    (ALREADY). A forged or garbled token is INVALID, an old one EXPIRED. An address
    suppressed since it signed up joins nothing, and is told the same as everyone.
    """
    try:
        found = read_token(token)
    except TokenExpired:
        return Confirmation(ConfirmOutcome.EXPIRED)
    except TokenInvalid:
        return Confirmation(ConfirmOutcome.INVALID)
    pending = (
        PendingSignup.objects.select_for_update()
        .select_related("form", "workspace")
        .filter(pk=found.pending_id, nonce=found.nonce)
        .first()
    )
    if pending is None:
        return Confirmation(ConfirmOutcome.INVALID)
    if pending.confirmed_at is not None:
        return Confirmation(ConfirmOutcome.ALREADY, pending.form)
    if pending.expires_at <= now:
        return Confirmation(ConfirmOutcome.EXPIRED, pending.form)
    pending.confirmed_at = now
    pending.send_after = None  # a confirmation not yet sent need not go any more
    pending.save(update_fields=["confirmed_at", "send_after"])
    workspace = pending.workspace
    if not is_suppressed(workspace, pending.email):
        lists = list(RecipientList.objects.filter(workspace=workspace, pk__in=pending.list_ids))
        recipient_subscribe(
            workspace=workspace,
            email=pending.email,
            values=pending.values,
            fields=pending.custom,
            lists=lists,
            consent=ConsentFacts(
                ConsentMethod.DOUBLE,
                pending.form.name,
                pending.created_at,
                pending.signed_up_ip,
                confirmed_at=now,
                confirmed_ip=stored_ip(ip, workspace.reader_ips),
            ),
        )
    return Confirmation(ConfirmOutcome.CONFIRMED, pending.form)
