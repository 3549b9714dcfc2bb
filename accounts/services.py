"""Writes for users, workspaces, memberships and invitations.

Every function here is keyword-only and atomic; views and commands call these and nothing else
to change accounts. Failures a user can fix raise `AccountError` with a message fit to show.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from accounts import emails
from accounts.audit import services as audit
from accounts.models import Invitation, Membership, Role, User, Workspace, normalize_email
from accounts.revocation import user_revoke_tokens as user_revoke_tokens
from accounts.selectors import block_refusal, unblock_refusal
from accounts.two_factor import has_two_factor

audit_log = logging.getLogger("accounts.audit")

VERIFY_SALT = "postroom.accounts.verify-email"


class AccountError(Exception):
    """A refusal with a message that can be shown to the user as it is."""


# --- Sign-up and e-mail verification --------------------------------------------------------


class AddressTaken(AccountError):
    """A sign-up with an address that has an account. Pages must not say so: the owner gets
    an e-mail instead (`user_notify_sign_up_attempt`)."""


@transaction.atomic
def user_sign_up(*, email: str, password: str, first_name: str = "", last_name: str = "") -> User:
    """Create an unverified user with a personal workspace.

    Raises AddressTaken when the address has an account (after spending the time a new
    account's password hash takes, so that the answer's timing does not tell either). The
    caller sends the verification e-mail (`user_send_verification`) after this has committed,
    so a failed sign-up never sends one and a mail server that is down never loses a sign-up.
    """
    email = normalize_email(email)
    if User.objects.filter(email__iexact=email).exists():
        User().set_password(password)
        raise AddressTaken(_("An account with this e-mail address already exists."))
    try:
        with transaction.atomic():
            user = User.objects.create_user(
                email, password, first_name=first_name, last_name=last_name
            )
    except IntegrityError as exc:  # a concurrent sign-up with the same address won the race
        raise AddressTaken(_("An account with this e-mail address already exists.")) from exc
    workspace_create(name=personal_workspace_name(user), owner=user)
    return user


def user_notify_sign_up_attempt(*, email: str, base_url: str) -> None:
    """Tell the owner of `email` that someone tried to sign up with it.

    An unconfirmed account gets its confirmation link again; a confirmed one, links to sign in
    and to reset the password; a blocked one, nothing. At most PASSWORD_RESET_MAILS_PER_HOUR
    such mails per address and hour. Raises emails.MailNotSent when the mail server refuses.
    """
    user = User.objects.filter(email__iexact=normalize_email(email), is_active=True).first()
    if user is None or not mail_allowed("sign-up-notice", user.email):
        return
    if not user.is_verified:
        user_send_verification(user=user, base_url=base_url)
        return
    emails.send_account_exists(
        user=user,
        login_link=base_url + reverse("accounts:login"),
        reset_link=base_url + reverse("accounts:password_reset"),
    )


def personal_workspace_name(user: User) -> str:
    """The new user's own workspace's name, in the language of the sign-up."""
    who = user.first_name.strip() or user.email.split("@", 1)[0]
    return _("%(name)s's workspace") % {"name": who}


def user_send_verification(*, user: User, base_url: str, invitation_token: str = "") -> None:
    """Send (or send again) the link that proves the user owns the address.

    With `invitation_token` (the user signed up from an invitation link) the link carries it,
    so that confirming the address also joins the invited workspace, in whatever browser the
    link is opened. Raises emails.MailNotSent when the system mail server does not take it.
    """
    token = signing.dumps({"u": user.pk, "e": user.email}, salt=VERIFY_SALT)
    link = base_url + reverse("accounts:verify_email", kwargs={"token": token})
    if invitation_token:
        link += "?" + urlencode({"invitation": invitation_token})
    emails.send_verification(user=user, link=link)


@transaction.atomic
def user_verify_email(*, token: str) -> User:
    """Mark the address in a verification token as proven. Opening a link twice is harmless.

    Raises AccountError for a forged, expired or outdated link (the address changed since).
    """
    try:
        data = signing.loads(token, salt=VERIFY_SALT, max_age=settings.EMAIL_VERIFICATION_MAX_AGE)
    except signing.SignatureExpired as exc:
        raise AccountError(_("This verification link has expired. Ask for a new one.")) from exc
    except signing.BadSignature as exc:
        raise AccountError(_("This verification link is not valid.")) from exc
    user = User.objects.select_for_update().filter(pk=data.get("u"), email=data.get("e")).first()
    if user is None:
        raise AccountError(_("This verification link is not valid."))
    if user.email_verified_at is None:
        user.email_verified_at = timezone.now()
        user.save(update_fields=["email_verified_at"])
    return user


@transaction.atomic
def user_mark_verified(*, user: User) -> None:
    """A password reset through an e-mailed link proves the address as well as a verification."""
    if user.email_verified_at is None:
        user.email_verified_at = timezone.now()
        user.save(update_fields=["email_verified_at"])


@transaction.atomic
def user_update_profile(
    *, user: User, first_name: str, last_name: str, language: str | None = None
) -> User:
    user.first_name = first_name.strip()
    user.last_name = last_name.strip()
    fields = ["first_name", "last_name"]
    if language is not None:
        user.language = language
        fields.append("language")
    user.save(update_fields=fields)
    return user


def user_set_language(*, user: User, language: str) -> User:
    """The interface's language for the user; blank follows the browser."""
    if user.language != language:
        user.language = language
        user.save(update_fields=["language"])
    return user


# --- Blocking (platform managers) ------------------------------------------------------------


@transaction.atomic
def user_block(*, user: User, by: User, reason: str = "") -> User:
    """Block a user: sign-in, sessions and API tokens stop working at once, tokens for good.

    Raises AccountError for a block of oneself, and for a manager blocking a superuser or
    another manager (managers cannot lock each other, or the platform, out).
    """
    refusal = block_refusal(user, by)
    if refusal:
        raise AccountError(refusal)
    user.is_active = False
    user.blocked_at = timezone.now()
    user.blocked_by = by
    user.blocked_reason = reason.strip()[:500]
    user.save(update_fields=["is_active", "blocked_at", "blocked_by", "blocked_reason"])
    user_revoke_tokens(user=user)
    audit.record("user.blocked", target=user, reason=user.blocked_reason)
    return user


@transaction.atomic
def user_unblock(*, user: User, by: User) -> User:
    """Lift a block. Raises AccountError for a manager lifting a block a manager did not put.

    A block with no known author (put by a superuser through the admin or the API, or by a
    user since deleted) is a superuser's to lift.
    """
    refusal = unblock_refusal(user, by)
    if refusal:
        raise AccountError(refusal)
    user.is_active = True
    user.blocked_at = None
    user.blocked_by = None
    user.blocked_reason = ""
    user.save(update_fields=["is_active", "blocked_at", "blocked_by", "blocked_reason"])
    audit.record("user.unblocked", target=user)
    return user


# --- API tokens -----------------------------------------------------------------------------


# --- Workspaces ----------------------------------------------------------------------------


@transaction.atomic
def workspace_create(
    *, name: str, owner: User, time_zone: str = "UTC", hourly_limit: int | None = None
) -> Workspace:
    """Create a workspace owned by `owner`, and let each part of Postroom set it up.

    The set-up functions are named in settings.WORKSPACE_INITIALIZERS (default custom fields,
    the capture sending account, …), so that accounts, the lowest layer, imports none of them.
    """
    workspace = Workspace.objects.create(
        name=name.strip() or "Workspace", time_zone=time_zone, hourly_limit=hourly_limit
    )
    Membership.objects.create(workspace=workspace, user=owner, role=Role.OWNER)
    for path in settings.WORKSPACE_INITIALIZERS:
        import_string(path)(workspace=workspace)
    return workspace


@transaction.atomic
def workspace_update(
    *,
    workspace: Workspace,
    name: str,
    time_zone: str,
    hourly_limit: int | None = None,
    track_opens: bool | None = None,
    track_clicks: bool | None = None,
    reader_ips: str | None = None,
    signup_color: str | None = None,
    require_two_factor: bool | None = None,
    archive_enabled: bool | None = None,
    by: User | None = None,
) -> Workspace:
    """Rename, change the time zone (when accounts' days start), the hourly limit and, where
    given, the tracking settings (campaigns read them when they start).

    Lifting the hourly limit or moving the time zone can bring room sooner than the times
    deliveries were put back to wait for: the workspace is marked for the engine to re-plan.

    Requiring two-factor sign-in (given with `by`, the owner doing it) is refused with
    AccountError while `by` has none: they would lock themselves out of the page.

    Turning the public archive on the first time gives it its random key (its address).
    """
    stored = Workspace.objects.select_for_update().get(pk=workspace.pk)
    if require_two_factor and by is not None and not has_two_factor(by):
        raise AccountError(
            _("Turn on two-factor sign-in for yourself (on your profile) before requiring it.")
        )
    workspace.name = name.strip()
    workspace.time_zone = time_zone
    workspace.hourly_limit = hourly_limit
    fields = ["name", "time_zone", "hourly_limit"]
    optional = {
        "track_opens": track_opens,
        "track_clicks": track_clicks,
        "reader_ips": reader_ips,
        "require_two_factor": require_two_factor,
        "signup_color": signup_color.lower() if signup_color else None,
        "archive_enabled": archive_enabled,
    }
    for field, value in optional.items():
        if value is not None:
            setattr(workspace, field, value)
            fields.append(field)
    if workspace.archive_enabled and not stored.archive_key:
        workspace.archive_key = new_archive_key()
        fields.append("archive_key")
    raised = stored.hourly_limit is not None and (
        hourly_limit is None or hourly_limit > stored.hourly_limit
    )
    if raised or time_zone != stored.time_zone:
        workspace.room_changed_at = timezone.now()
        fields.append("room_changed_at")
    workspace.save(update_fields=fields)
    changed = [
        field
        for field in fields
        # two-factor is logged on its own below; a new archive key is no choice of the owner
        if field not in ("room_changed_at", "require_two_factor", "archive_key")
        and getattr(workspace, field) != getattr(stored, field)
    ]
    if changed:  # the names only: who changed tracking, limits or the time zone, and when
        audit.record("workspace.changed", workspace=workspace, fields=sorted(changed))
    if require_two_factor is not None and require_two_factor != stored.require_two_factor:
        audit_log.info(
            "workspace.require_two_factor workspace=%s on=%s by=%s",
            workspace.pk,
            require_two_factor,
            by.pk if by is not None else None,
        )
        audit.record("workspace.two_factor_required", workspace=workspace, on=require_two_factor)
    return workspace


def new_archive_key() -> str:
    return secrets.token_urlsafe(12)


@transaction.atomic
def workspace_archive_key_rotate(*, workspace: Workspace) -> Workspace:
    """A new public address for the workspace's archive: the old one answers 404 from now on
    (an address that was shared too widely, or a feed to cut off)."""
    workspace = Workspace.objects.select_for_update().get(pk=workspace.pk)
    workspace.archive_key = new_archive_key()
    workspace.save(update_fields=["archive_key"])
    audit.record("workspace.archive_key_rotated", workspace=workspace)
    return workspace


def workspace_room_changed(*, workspace_id: int, now: datetime) -> None:
    """Note that a limit was lifted: deliveries waiting for room may go sooner than planned.

    The engine (campaigns) reads the mark, re-plans the waiting deliveries and clears it;
    this layer cannot reach them itself.
    """
    Workspace.objects.filter(pk=workspace_id).update(room_changed_at=now)


@transaction.atomic
def workspace_stop_sending(*, workspace: Workspace, by: User, reason: str = "") -> Workspace:
    """Stop every send of a workspace until a manager resumes it; the engine checks the flag."""
    workspace.sending_stopped_at = timezone.now()
    workspace.sending_stopped_by = by
    workspace.sending_stopped_reason = reason.strip()[:500]
    workspace.save(
        update_fields=["sending_stopped_at", "sending_stopped_by", "sending_stopped_reason"]
    )
    audit.record(
        "workspace.sending_stopped", workspace=workspace, reason=workspace.sending_stopped_reason
    )
    return workspace


@transaction.atomic
def workspace_resume_sending(*, workspace: Workspace) -> Workspace:
    workspace.sending_stopped_at = None
    workspace.sending_stopped_by = None
    workspace.sending_stopped_reason = ""
    workspace.save(
        update_fields=["sending_stopped_at", "sending_stopped_by", "sending_stopped_reason"]
    )
    audit.record("workspace.sending_resumed", workspace=workspace)
    return workspace


# --- Members ------------------------------------------------------------------------------


def _ensure_another_owner(membership: Membership) -> None:
    others = (
        Membership.objects.select_for_update()
        .filter(workspace_id=membership.workspace_id, role=Role.OWNER)
        .exclude(pk=membership.pk)
    )
    if membership.role == Role.OWNER and not others.exists():
        raise AccountError(
            _("A workspace needs at least one owner. Make someone else owner first.")
        )


@transaction.atomic
def membership_change_role(*, membership: Membership, role: str) -> Membership:
    """Change a member's role; the last owner cannot step down."""
    if role not in Role.values:
        raise AccountError(_("Unknown role."))
    if role != Role.OWNER:
        _ensure_another_owner(membership)
    previous, membership.role = membership.role, role
    membership.save(update_fields=["role"])
    audit.record(
        "member.role_changed",
        workspace=membership.workspace,
        target=membership.user,
        previous=previous,
        role=role,
    )
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership) -> None:
    """Remove a member (or let a member leave); the last owner cannot go."""
    _ensure_another_owner(membership)
    audit.record(
        "member.removed",
        workspace=membership.workspace,
        target=membership.user,
        role=membership.role,
    )
    membership.delete()


# --- Invitations --------------------------------------------------------------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedInvitation:
    invitation: Invitation
    link: str


@transaction.atomic
def invitation_create(
    *, workspace: Workspace, email: str, role: str, invited_by: User, base_url: str
) -> IssuedInvitation:
    """Invite an address into a workspace; the caller e-mails the link (`invitation_send`).

    Inviting an address again replaces its pending invitation (and so its link). Raises
    AccountError if the address already belongs to a member.
    """
    email = normalize_email(email)
    if role not in Role.values:
        raise AccountError(_("Unknown role."))
    if Membership.objects.filter(workspace=workspace, user__email__iexact=email).exists():
        raise AccountError(_("%(email)s is already a member of this workspace.") % {"email": email})
    Invitation.objects.filter(workspace=workspace, email=email, accepted_at__isnull=True).delete()
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        workspace=workspace,
        email=email,
        role=role,
        invited_by=invited_by,
        token_hash=_token_hash(token),
        expires_at=timezone.now() + timedelta(days=settings.INVITATION_MAX_AGE_DAYS),
    )
    link = base_url + reverse("accounts:invitation_accept", kwargs={"token": token})
    audit.record("member.invited", workspace=workspace, target_label=email, email=email, role=role)
    return IssuedInvitation(invitation=invitation, link=link)


def invitation_send(*, issued: IssuedInvitation) -> None:
    """E-mail an invitation; if the mail server refuses it, withdraw it and raise MailNotSent.

    An invitation nobody received would only block inviting the address again.
    """
    try:
        emails.send_invitation(invitation=issued.invitation, link=issued.link)
    except emails.MailNotSent:
        invitation_revoke(invitation=issued.invitation)
        raise


def invitation_for_token(*, token: str, user: User) -> Invitation | None:
    """The pending invitation behind a link, if it was sent to this user's address."""
    return (
        Invitation.objects.select_related("workspace", "invited_by")
        .filter(
            token_hash=_token_hash(token),
            email__iexact=user.email,
            accepted_at__isnull=True,
            expires_at__gt=timezone.now(),
        )
        .first()
    )


def invitation_pending(*, token: str) -> Invitation | None:
    """The pending invitation behind a link, whoever opens it (to greet someone signed out:
    the link itself is the secret, and it shows only the workspace's name and the address)."""
    return (
        Invitation.objects.select_related("workspace", "invited_by")
        .filter(
            token_hash=_token_hash(token), accepted_at__isnull=True, expires_at__gt=timezone.now()
        )
        .first()
    )


@transaction.atomic
def invitation_accept(*, invitation: Invitation, user: User) -> Membership:
    """Join the workspace with the invited role. Raises AccountError if it is no longer valid."""
    locked = Invitation.objects.select_for_update().filter(pk=invitation.pk).first()
    if locked is None or not locked.is_pending:
        raise AccountError(_("This invitation is no longer valid."))
    if normalize_email(locked.email) != normalize_email(user.email):
        raise AccountError(_("This invitation was sent to another address."))
    membership, created = Membership.objects.get_or_create(
        workspace_id=locked.workspace_id, user=user, defaults={"role": locked.role}
    )
    if not created and Role.rank(locked.role) > Role.rank(membership.role):
        membership.role = locked.role
        membership.save(update_fields=["role"])
    locked.accepted_at = timezone.now()
    locked.accepted_by = user
    locked.save(update_fields=["accepted_at", "accepted_by"])
    audit.record("member.joined", workspace=membership.workspace, target=user, role=membership.role)
    return membership


@transaction.atomic
def invitation_decline(*, invitation: Invitation) -> None:
    invitation.delete()


@transaction.atomic
def invitation_revoke(*, invitation: Invitation) -> None:
    audit.record(
        "member.invitation_revoked",
        workspace=invitation.workspace,
        target_label=invitation.email,
        email=invitation.email,
    )
    invitation.delete()


# --- Bootstrap ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoAdmin:
    user: User
    password: str | None  # None when the stored password no longer matches (it was changed)
    created: bool


@transaction.atomic
def demo_admin_ensure(*, email: str, password_file: str) -> DemoAdmin:
    """Create the demo administrator of a fresh install, or report the existing one.

    The generated password is kept in `password_file` (mode 600) so that later starts can print
    it again; once the administrator changes it, only the e-mail is printed.
    """
    path = Path(password_file)
    existing = User.objects.filter(is_superuser=True).order_by("pk").first()
    if existing is not None:
        stored = path.read_text().strip() if path.is_file() else ""
        usable = bool(stored) and existing.check_password(stored)
        return DemoAdmin(user=existing, password=stored if usable else None, created=False)
    password = secrets.token_urlsafe(12)
    user = User.objects.create_superuser(email, password, first_name="Admin")
    workspace_create(name="Demo workspace", owner=user)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(password + "\n")
    path.chmod(0o600)
    return DemoAdmin(user=user, password=password, created=True)


def reset_mail_allowed(email: str) -> bool:
    """Count a password-reset request for `email`; False past the hourly budget."""
    return mail_allowed("reset-mail", email)


def mail_allowed(kind: str, email: str) -> bool:
    """Count a mail of `kind` asked for by someone else for `email`; False past the hourly
    budget (PASSWORD_RESET_MAILS_PER_HOUR).

    Without it anyone could make us send an unlimited number of such mails to one address
    (a nuisance to its owner and a risk to our sender reputation). The address is hashed so the
    cache holds no addresses.
    """
    digest = hashlib.sha256(email.encode()).hexdigest()
    key = f"{kind}:{digest}"
    cache.add(key, 0, timeout=60 * 60)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=60 * 60)
        count = 1
    return bool(count <= settings.PASSWORD_RESET_MAILS_PER_HOUR)
