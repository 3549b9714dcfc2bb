"""The public sign-up and preference APIs' own budgets per client address (API_SIGNUP_RATE,
API_SIGNUP_CONFIRM_RATE, API_PREFERENCES_RATE), apart from any principal's."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework.request import Request

from accounts.api.throttling import ClientRateThrottle

if TYPE_CHECKING:
    from rest_framework.views import APIView


class SignupRateThrottle(ClientRateThrottle):
    scope = "signup"  # its rate is read per request, as ClientRateThrottle reads every rate

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class SignupConfirmRateThrottle(SignupRateThrottle):
    scope = "signup_confirm"


class PreferencesRateThrottle(SignupRateThrottle):
    scope = "preferences"
