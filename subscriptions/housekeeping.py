"""Clean-up of sign-ups: unconfirmed ones expire (SIGNUP_CONFIRM_MAX_AGE), and confirmed ones
are no longer needed once their link would have expired (the consent lives in audience)."""

from __future__ import annotations

from datetime import datetime

from subscriptions.models import PendingSignup


def purge_expired_signups(*, now: datetime) -> int:
    """Delete the sign-ups whose confirmation time is over; return how many."""
    deleted, _ = PendingSignup.objects.filter(expires_at__lte=now).delete()
    return deleted
