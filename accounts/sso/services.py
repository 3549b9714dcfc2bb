"""Who a provider's claims sign in: an existing account by verified address, or a new one."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

from accounts import services, two_factor
from accounts.models import Membership, User, normalize_email
from accounts.revocation import user_revoke_tokens

# Why a sign-in through the provider was refused: the key is logged, the text shown.
REASONS = {
    "provider_error": gettext_lazy("The identity provider did not sign you in."),
    "invalid": gettext_lazy(
        "The answer from the identity provider could not be checked (an expired or altered "
        "request). Try again from this page."
    ),
    "no_email": gettext_lazy("The identity provider did not give an e-mail address."),
    "unverified": gettext_lazy(
        "The identity provider has not verified your e-mail address, so it cannot sign you "
        "in here. Verify it with the provider, or sign in with your password."
    ),
    "domain": gettext_lazy("Addresses of this domain may not sign in with single sign-on."),
    "unknown": gettext_lazy(
        "There is no Postroom account for this address. Ask for an invitation, or sign up."
    ),
    "blocked": gettext_lazy("This account is blocked."),
    "locked": gettext_lazy("Too many failed sign-ins. Wait a few minutes and try again."),
}


class Refused(Exception):
    """A sign-in refused for `reason` (a key of REASONS); `email` is the claimed address, if
    the provider gave one."""

    def __init__(self, reason: str, email: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.email = email

    @property
    def text(self) -> str:
        return str(REASONS[self.reason])


def email_is_verified(claims: dict[str, Any]) -> bool:
    # A boolean per the standard; some providers (Amazon Cognito) send the string "true".
    value = claims.get("email_verified")
    return value is True or value == "true"


def user_for_claims(claims: dict[str, Any]) -> tuple[User, bool]:
    """The user the provider's claims name, and whether it was made now.

    Raises Refused when the address is missing, not verified by the provider, outside
    SSO_ALLOWED_DOMAINS, blocked, or unknown while SSO_ALLOW_SIGNUP is off.
    """
    email = normalize_email(str(claims.get("email") or ""))
    if not email:
        raise Refused("no_email")
    if not email_is_verified(claims):
        raise Refused("unverified", email)
    domain = email.rsplit("@", 1)[-1].lower()
    if settings.SSO_ALLOWED_DOMAINS and domain not in settings.SSO_ALLOWED_DOMAINS:
        raise Refused("domain", email)
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        if not settings.SSO_ALLOW_SIGNUP:
            raise Refused("unknown", email)
        return user_sign_up_sso(claims=claims, email=email), True
    if not user.is_active:
        raise Refused("blocked", email)
    if not user.is_verified:
        user_claim_unverified(user=user)
    return user, False


@transaction.atomic
def user_sign_up_sso(*, claims: dict[str, Any], email: str) -> User:
    """A new user proven by the provider: verified, without a password, with a personal
    workspace, as a confirmed sign-up has. Raises Refused("invalid") if the address was
    taken meanwhile (a race with another sign-up)."""
    try:
        with transaction.atomic():
            user = User.objects.create_user(
                email,
                None,
                first_name=str(claims.get("given_name") or "")[:150],
                last_name=str(claims.get("family_name") or "")[:150],
                email_verified_at=timezone.now(),
            )
    except IntegrityError as exc:
        raise Refused("invalid", email) from exc
    services.workspace_create(name=services.personal_workspace_name(user), owner=user)
    return user


@transaction.atomic
def user_claim_unverified(*, user: User) -> None:
    """A local account whose address was never confirmed, now proven by the provider.

    Whoever signed it up never proved the address, so its password and tokens are dropped:
    otherwise someone could sign up with another's address before them and keep a way in.
    """
    user.set_unusable_password()
    user.email_verified_at = timezone.now()
    user.save(update_fields=["password", "email_verified_at"])
    user_revoke_tokens(user=user)


def asks_for_code(user: User) -> bool:
    """Whether Postroom's own second factor is asked after the provider (SSO_SKIP_TWO_FACTOR):
    always for a user who set it up, unless the provider is trusted for it and none of the
    user's workspaces requires two-factor sign-in."""
    if not two_factor.has_two_factor(user):
        return False
    if not settings.SSO_SKIP_TWO_FACTOR:
        return True
    return Membership.objects.filter(user=user, workspace__require_two_factor=True).exists()
