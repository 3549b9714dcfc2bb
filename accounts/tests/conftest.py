"""Single sign-on tests' provider: a real OpenID Connect provider on loopback, and the
settings that point Postroom at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from core.testing.oidc import OidcProvider


@pytest.fixture
def oidc_provider(settings) -> Iterator[OidcProvider]:
    with OidcProvider(client_id="postroom", client_secret="s3cret") as provider:
        settings.SSO_ENABLED = True
        settings.OIDC_ISSUER = provider.issuer
        settings.OIDC_DISCOVERY_URL = provider.discovery_url
        settings.OIDC_RP_CLIENT_ID = "postroom"
        settings.OIDC_RP_CLIENT_SECRET = "s3cret"
        settings.SSO_BUTTON_LABEL = ""
        settings.SSO_ALLOW_SIGNUP = False
        settings.SSO_ALLOWED_DOMAINS = []
        settings.SSO_SKIP_TWO_FACTOR = False
        yield provider
