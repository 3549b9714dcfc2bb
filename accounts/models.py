"""Users, workspaces (the tenant), memberships with roles, and invitations."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone


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
    token stops working. `email_verified_at` is set when the address was proven by a link; until
    then the user cannot sign in.
    """

    username = None  # type: ignore[assignment]
    email = models.EmailField("e-mail address", unique=True)
    email_verified_at = models.DateTimeField(null=True, blank=True)
    blocked_at = models.DateTimeField(null=True, blank=True)
    blocked_reason = models.CharField(max_length=500, blank=True)

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
    OWNER = "owner", "Owner"
    EDITOR = "editor", "Editor"
    VIEWER = "viewer", "Viewer"

    @classmethod
    def rank(cls, role: str) -> int:
        """Higher ranks may do everything lower ranks may."""
        return {cls.VIEWER: 1, cls.EDITOR: 2, cls.OWNER: 3}.get(cls(role), 0)


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

    class Meta:
        ordering = ("name", "id")
        permissions = (
            ("view_all_workspaces", "Can view every workspace read-only"),
            ("stop_workspace_sending", "Can stop and resume a workspace's sending"),
        )

    def __str__(self) -> str:
        return self.name

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
