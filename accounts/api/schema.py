"""How the OpenAPI document describes our authentication schemes."""

from __future__ import annotations

from typing import Any

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.extensions import OpenApiAuthenticationExtension


class JwtScheme(SimpleJWTScheme):  # type: ignore[no-untyped-call]
    target_class = "accounts.api.authentication.JwtAuthentication"
    name = "jwt"


class ApiKeyScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "accounts.api.authentication.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "X-API-Key",
            "description": "A workspace API key (pr_…); also accepted as Authorization: Bearer.",
        }
