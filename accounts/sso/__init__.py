"""Single sign-on through an OpenID Connect provider (mozilla-django-oidc does the protocol).

Off unless settings.SSO_ENABLED (OIDC_ISSUER and OIDC_CLIENT_ID set). An account is matched by
the provider's e-mail address only when the provider says it is verified.
"""
