"""The public sign-up and preference APIs' own budgets per client address (API_SIGNUP_RATE,
API_SIGNUP_CONFIRM_RATE, API_PREFERENCES_RATE), apart from any principal's."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from django.conf import settings
from rest_framework.request import Request

from accounts.api.throttling import ClientRateThrottle

if TYPE_CHECKING:
    from rest_framework.views import APIView


class SignupRateThrottle(ClientRateThrottle):
    scope = "signup"

    def get_rate(self) -> str:
        # Read per request, so that a changed setting applies at once (and in tests).
        rates = cast(dict[str, str], settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"])
        return rates[str(self.scope)]

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class SignupConfirmRateThrottle(SignupRateThrottle):
    scope = "signup_confirm"


class PreferencesRateThrottle(SignupRateThrottle):
    scope = "preferences"
