"""Users, workspaces (the tenant), memberships with roles, and invitations."""

from __future__ import annotations

from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.agents import describe_agent


def normalize_email(email: str) -> str:
    """One spelling per address: surrounding space removed and the whole address lower-cased.

    Mail servers treat the local part case-sensitively in theory, but no real mailbox provider
    does, and two accounts differing only in case are always a mistake.
    """
    return email.strip().lower()


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        if not email:
            raise ValueError("A user needs an e-mail address.")
        user = self.model(email=normalize_email(email), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        extra.setdefault("email_verified_at", timezone.now())
        return self.create_user(email, password, **extra)


class User(AbstractUser):
    """A person who signs in with an e-mail address.

    `is_active` is the block switch: a blocked user cannot sign in, and an existing session or
    token stops working (tokens for good: a block revokes them). `email_verified_at` is set
    when the address was proven by a link; until then the user cannot sign in.
    """

    username = None  # type: ignore[assignment]
    email = models.EmailField("e-mail address", unique=True)
    email_verified_at = models.DateTimeField(null=True, blank=True)
    blocked_at = models.DateTimeField(null=True, blank=True)
    blocked_reason = models.CharField(max_length=500, blank=True)
    # The workspace last chosen in the web interface: a new session starts there, and an API
    # call without X-Workspace acts there, so both agree on "my workspace".
    current_workspace = models.ForeignKey(
        "accounts.Workspace", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Who blocked the user: a platform manager may lift only a block a manager put.
    blocked_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Every API token carries this number (hashed with the password); raising it revokes them
    # all at once: on a block, a password change, a change of the second factor.
    token_generation = models.PositiveIntegerField(default=0, editable=False)
    # The interface's language; blank follows the browser (accounts.middleware).
    language = models.CharField(
        _("language"),
        max_length=10,
        blank=True,
        default="",
        choices=settings.LANGUAGES,
    )

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    objects: ClassVar[UserManager] = UserManager()  # type: ignore[assignment]

    class Meta:
        ordering = ("email",)
        constraints = (
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
        )

    def __str__(self) -> str:
        return self.email

    @property
    def is_verified(self) -> bool:
        return self.email_verified_at is not None

    @property
    def is_blocked(self) -> bool:
        return not self.is_active

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.email


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    EDITOR = "editor", _("Editor")
    VIEWER = "viewer", _("Viewer")

    @classmethod
    def rank(cls, role: str) -> int:
        """Higher ranks may do everything lower ranks may."""
        return {cls.VIEWER: 1, cls.EDITOR: 2, cls.OWNER: 3}.get(cls(role), 0)


class ReaderIps(models.TextChoices):
    """What is kept of the address an open or a click came from."""

    TRUNCATED = "truncated", _("Truncated (IPv4 /24, IPv6 /48)")
    NONE = "none", _("Not stored")


class Workspace(models.Model):
    """The tenant: every row of the domain belongs to exactly one workspace."""

    name = models.CharField(max_length=120)
    time_zone = models.CharField(
        max_length=64,
        default="UTC",
        help_text="Daily sending limits reset at midnight in this time zone.",
    )
    hourly_limit = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="At most this many messages in any rolling hour, all accounts together. "
        "Empty: no limit beyond each account's own.",
    )
    created_at = models.DateTimeField(default=timezone.now)
    # Set by a platform manager: the engine sends nothing for this workspace while it is set.
    sending_stopped_at = models.DateTimeField(null=True, blank=True)
    sending_stopped_reason = models.CharField(max_length=500, blank=True)
    sending_stopped_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Set when a limit is lifted (an account's daily limit or minimum wait, the hourly limit,
    # the time zone); the engine re-plans the deliveries waiting for room and clears it.
    room_changed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Open and click tracking start off: in the EU a pixel or a rewritten link reads what a
    # person did with a message, which needs their consent (ePrivacy art. 5(3); CNIL on
    # e-mail pixels), and only the sender knows whether they have it. Campaigns follow these
    # unless they say otherwise.
    track_opens = models.BooleanField(
        _("Track opens"),
        default=False,
        help_text=_("Put a 1x1 image in campaign messages to see who opened them."),
    )
    track_clicks = models.BooleanField(
        _("Track clicks"),
        default=False,
        help_text=_("Send campaign links through Postroom to see who clicked them."),
    )
    reader_ips = models.CharField(
        _("Readers' addresses"),
        max_length=10,
        choices=ReaderIps.choices,
        default=ReaderIps.TRUNCATED,
    )
    # The colour of the hosted sign-up pages and embeddable forms (buttons, headings).
    signup_color = models.CharField(
        _("Sign-up page colour"),
        max_length=7,
        default="#2563eb",
        validators=[RegexValidator(r"^#[0-9a-fA-F]{6}$", "A colour like #2563eb.")],
        help_text=_("Buttons and headings of the public sign-up forms, like #2563eb."),
    )
    # The public archive of campaigns (/archive/<archive_key>/): off until an owner turns it
    # on. The key is random, made when the archive is first turned on, so that archives
    # cannot be counted or guessed by workspace id; a new key ends the old address.
    archive_enabled = models.BooleanField(
        _("Public archive"),
        default=False,
        help_text=_(
            "A public page and feed listing the sent campaigns marked for the archive, "
            "shown with sample values instead of any recipient's data."
        ),
    )
    archive_key = models.CharField(max_length=32, null=True, blank=True, unique=True)
    # Set by an owner: members without a second factor are sent to set one up before they
    # can use this workspace in the web interface (API keys and tokens are not concerned).
    require_two_factor = models.BooleanField(
        _("Require two-factor sign-in"),
        default=False,
        help_text=_(
            "Members without two-factor sign-in are asked to set it up before they can use "
            "this workspace."
        ),
    )

    class Meta:
        ordering = ("name", "id")
        indexes = (
            models.Index(
                fields=("room_changed_at",),
                name="workspace_room_changed",
                condition=models.Q(room_changed_at__isnull=False),
            ),
        )
        permissions = (
            ("view_all_workspaces", "Can view every workspace read-only"),
            ("stop_workspace_sending", "Can stop and resume a workspace's sending"),
        )

    def __str__(self) -> str:
        return self.name

    @property
    def zone(self) -> ZoneInfo:
        """The workspace's time zone (its days: limits, reports); UTC for an unknown name."""
        try:
            return ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            return ZoneInfo("UTC")

    @property
    def sending_stopped(self) -> bool:
        return self.sending_stopped_at is not None


class Membership(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("workspace__name", "user__email")
        constraints = (
            models.UniqueConstraint(fields=("workspace", "user"), name="membership_unique"),
        )

    def __str__(self) -> str:
        return f"{self.user} in {self.workspace} as {self.role}"

    def allows(self, role: str) -> bool:
        return Role.rank(self.role) >= Role.rank(role)


class Invitation(models.Model):
    """An invitation by e-mail into a workspace; accepted by the user who owns that address.

    Only a hash of the token is stored, so a database leak does not leak working links.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ("-created_at",)
        constraints = (
            models.UniqueConstraint(
                fields=("workspace", "email"),
                condition=models.Q(accepted_at__isnull=True),
                name="invitation_one_pending_per_email",
            ),
        )

    def __str__(self) -> str:
        return f"{self.email} to {self.workspace}"

    @property
    def is_pending(self) -> bool:
        return self.accepted_at is None and self.expires_at > timezone.now()


class UserSession(models.Model):
    """A signed-in browser session of a user, so that they can see it and end it.

    The session's data lives in Django's session store under `session_key`; this row adds
    what the list shows. A row whose session expired or was deleted is left out of the list
    (and deleted by housekeeping, `accounts.housekeeping.purge_ended_sessions`).
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="web_sessions"
    )
    session_key = models.CharField(max_length=40, unique=True)
    user_agent = models.CharField(max_length=300, blank=True)
    # The network only (IPv4 /24, IPv6 /48): enough to recognise a place, not a person.
    ip_network = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("-last_seen_at", "-pk")

    def __str__(self) -> str:
        return f"{self.user} on {self.device}"

    @property
    def device(self) -> str:
        return describe_agent(self.user_agent)
