"""Two-factor sign-in: a TOTP authenticator app (django-otp) and single-use recovery codes.

A user has two-factor sign-in when they have a confirmed TOTP device; their recovery codes
are a django-otp static device made with it. Wrong codes at sign-in are counted per user
(whatever the client's address, since whoever types them already knows the password) and,
past TWO_FACTOR_FAILURE_LIMIT in TWO_FACTOR_COOLOFF, refused until the cool-off ends.
Every change and every refusal is logged on the `accounts.audit` logger.
"""

from __future__ import annotations

import logging
import re
import time
from base64 import b32encode

import segno
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils.translation import gettext as _
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.audit import services as audit
from accounts.models import User
from accounts.revocation import user_revoke_tokens

audit_log = logging.getLogger("accounts.audit")

RECOVERY_CODE_COUNT = 10
_TOTP_CODE = re.compile(r"^\d{6}$")


class TwoFactorError(Exception):
    """A refusal with a message fit to show."""


def has_two_factor(user: User) -> bool:
    """Whether the user signs in with a second factor (a confirmed authenticator)."""
    return bool(TOTPDevice.objects.filter(user=user, confirmed=True).exists())


def recovery_codes_left(user: User) -> int:
    return int(StaticToken.objects.filter(device__user=user, device__confirmed=True).count())


# --- Enrolment ------------------------------------------------------------------------------


@transaction.atomic
def totp_start(*, user: User) -> TOTPDevice:
    """A new, unconfirmed authenticator for the user (replacing an earlier unconfirmed one).

    Raises TwoFactorError when the user already has two-factor sign-in.
    """
    if has_two_factor(user):
        raise TwoFactorError(_("Two-factor sign-in is already on."))
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    device: TOTPDevice = TOTPDevice.objects.create(
        user=user, name="Authenticator app", confirmed=False
    )
    return device


def totp_pending(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()


def totp_qr_data_uri(device: TOTPDevice) -> str:
    """The otpauth:// URI of the device as an SVG QR code in a data: URI, drawn here (no
    outside service, and no markup of ours marked safe: the page puts it in an img src)."""
    # OTP_TOTP_ISSUER names Postroom in the URI, so the app labels the account with it.
    return str(segno.make(device.config_url, error="m").svg_data_uri(scale=5, border=2))


def totp_secret(device: TOTPDevice) -> str:
    """The key in base32, grouped by four, for typing into an app that cannot scan."""
    text = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


@transaction.atomic
def totp_confirm(*, user: User, code: str) -> list[str]:
    """Confirm the pending authenticator with a code from it and make the recovery codes.

    Returns the recovery codes, which are not shown again. Raises TwoFactorError when there
    is nothing to confirm or the code is wrong.
    """
    device = totp_pending(user)
    if device is None:
        raise TwoFactorError(_("Start again: there is no authenticator waiting to be confirmed."))
    if not device.verify_token(_clean(code)):  # type: ignore[no-untyped-call]
        raise TwoFactorError(_("That code is not the one the app shows now. Try the next one."))
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = _new_recovery_codes(user)
    # Tokens taken with the password alone must not outlive the second factor's arrival.
    user_revoke_tokens(user=user)
    audit_log.info("two_factor.enabled user=%s", user.pk)
    audit.record("user.two_factor_enabled", target=user)
    return codes


@transaction.atomic
def recovery_codes_regenerate(*, user: User) -> list[str]:
    """Replace the user's recovery codes with ten new ones; the old ones stop working."""
    if not has_two_factor(user):
        raise TwoFactorError(_("Two-factor sign-in is off."))
    codes = _new_recovery_codes(user)
    user_revoke_tokens(user=user)  # a change of the second factor, like turning it on or off
    audit_log.info("two_factor.recovery_codes_regenerated user=%s", user.pk)
    audit.record("user.recovery_codes_made", target=user)
    return codes


def _new_recovery_codes(user: User) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name="Recovery codes", confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]  # type: ignore[no-untyped-call]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


@transaction.atomic
def two_factor_disable(*, user: User) -> None:
    """Remove the authenticator and the recovery codes. The caller has checked a code or the
    password."""
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    user_revoke_tokens(user=user)
    audit_log.info("two_factor.disabled user=%s", user.pk)
    audit.record("user.two_factor_disabled", target=user)


# --- Checking codes -------------------------------------------------------------------------


def _clean(code: str) -> str:
    return re.sub(r"[\s-]", "", code or "").lower()


def code_verify(*, user: User, code: str) -> Device | None:
    """The device that accepts the code, or None.

    Six digits are an authenticator code (accepted once: django-otp remembers the last time
    step used); anything else is a recovery code, deleted as it is used. The authenticator is
    not asked about recovery codes, so that they do not count as its failures.
    """
    code = _clean(code)
    if not code:
        return None
    kind: type[Device] = TOTPDevice if _TOTP_CODE.match(code) else StaticDevice
    device: Device | None = kind.objects.filter(user=user, confirmed=True).first()
    if device is None or not device.verify_token(code):  # type: ignore[no-untyped-call]
        return None
    if isinstance(device, StaticDevice):
        audit_log.info("two_factor.recovery_code_used user=%s", user.pk)
        audit.record("user.recovery_code_used", actor=user, target=user)
    return device


def _failures_key(user: User) -> str:
    return f"postroom.two-factor.failures.{user.pk}"


def _failures(user: User) -> int:
    """Wrong codes in a row, forgotten TWO_FACTOR_COOLOFF after the last one (by the clock
    here, not the cache's expiry, which a Redis server keeps by its own clock)."""
    count, last = cache.get(_failures_key(user), (0, 0.0))
    if time.time() - last > settings.TWO_FACTOR_COOLOFF.total_seconds():
        return 0
    return int(count)


def code_attempt_allowed(user: User) -> bool:
    """False once the user has typed TWO_FACTOR_FAILURE_LIMIT wrong codes in the cool-off."""
    return _failures(user) < int(settings.TWO_FACTOR_FAILURE_LIMIT)


def code_failed(user: User) -> None:
    """Count a wrong code (a race between two may lose one: the limit is a brake, not a
    ledger)."""
    count = _failures(user) + 1
    cooloff = int(settings.TWO_FACTOR_COOLOFF.total_seconds())
    cache.set(_failures_key(user), (count, time.time()), timeout=cooloff + 60)
    audit_log.warning("two_factor.code_refused user=%s failures=%s", user.pk, count)
    if count >= settings.TWO_FACTOR_FAILURE_LIMIT:
        audit_log.warning("two_factor.locked user=%s", user.pk)
        audit.record("user.two_factor_locked", actor=user, target=user)


def code_failures_reset(user: User) -> None:
    cache.delete(_failures_key(user))
