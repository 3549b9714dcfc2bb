"""Revoking a user's API tokens: its own module, so that the two-factor services, which the
account services import, can call it too."""

from __future__ import annotations

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts.models import User


@transaction.atomic
def user_revoke_tokens(*, user: User) -> None:
    """End every API token (JWT) of the user now: access tokens and refresh tokens alike.

    Called on a block, a password change and a change of the second factor. Tokens carry a
    stamp of the user's token generation and password, so raising the generation is enough to
    refuse them all; the refresh tokens are also put on simplejwt's blacklist, so that the
    record shows them revoked. A password changed by any other path changes the stamp as well.
    """
    User.objects.filter(pk=user.pk).update(token_generation=F("token_generation") + 1)
    user.refresh_from_db(fields=["token_generation"])
    live = OutstandingToken.objects.filter(
        user=user, expires_at__gt=timezone.now(), blacklistedtoken__isnull=True
    )
    BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token=token) for token in live], ignore_conflicts=True
    )
