"""Rate limits per API key and per user (429 with Retry-After)."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from accounts.keys.models import ApiKey
from core import soft_cache
from core.client_ip import client_ip

if TYPE_CHECKING:  # rest_framework.views imports this module through the settings
    from rest_framework.views import APIView


class ClientRateThrottle(SimpleRateThrottle):
    """The client's address as core.client_ip finds it (TRUSTED_PROXIES), never as a
    client-sent X-Forwarded-For claims it."""

    def get_ident(self, request: Request) -> str:
        return client_ip(request)

    def get_rate(self) -> str:
        # Read per request, not once when DRF's throttling module was imported, so that a
        # changed setting applies at once (and in tests, whatever the import order).
        rates = cast(dict[str, str], settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"])
        return rates[str(self.scope)]


class PrincipalRateThrottle(ClientRateThrottle):
    """One budget per API key, one per user, one per client address for anonymous calls."""

    scope = "principal"

    def allow_request(self, request: Request, view: APIView) -> bool:
        # A budget against overload, not a lock: when the cache cannot be reached, calls go
        # through (with core.soft_cache's warning and pause) rather than the whole API failing.
        # The token endpoint's limit (LoginRateThrottle) guards passwords and fails closed.
        parent = super().allow_request
        return soft_cache.tolerant(lambda: parent(request, view), True)

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        if isinstance(request.auth, ApiKey):
            ident = f"key:{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class LoginRateThrottle(ClientRateThrottle):
    """Token requests per client address, on top of django-axes' lockout per address."""

    scope = "login"

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
