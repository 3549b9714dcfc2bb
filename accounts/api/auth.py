"""The Emailer System's token endpoints: /api/login/, /api/token/refresh/, /api/token/verify/."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework_simplejwt import views as jwt_views
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer

from accounts import two_factor
from accounts.api.throttling import LoginRateThrottle
from accounts.api.tokens import RefreshSerializer, StampedRefreshToken, VerifySerializer


class LoginSerializer(TokenObtainPairSerializer):
    """simplejwt's, with the address bounded as the user model bounds it, and the second
    factor of a user who turned two-factor sign-in on.

    An overlong address is a 400 before anything is looked up (django-axes would otherwise try
    to record the failed login with it and overflow its column). A password alone must not
    open what the web interface keeps behind a code: such a user sends the authenticator's
    current code (or a recovery code) as `code`, with the same count of wrong codes as the
    sign-in page. API keys remain the way for machines that cannot hold a second factor.
    """

    token_class = StampedRefreshToken

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields[self.username_field] = serializers.CharField(write_only=True, max_length=254)
        self.fields["code"] = serializers.CharField(
            write_only=True,
            required=False,
            allow_blank=True,
            max_length=32,
            help_text="The authenticator's current code, for users with two-factor sign-in.",
        )

    def validate(self, attrs: dict[str, Any]) -> dict[str, str]:
        data = super().validate(attrs)  # the password; sets self.user
        user = self.user
        if user is None or not two_factor.has_two_factor(user):
            return data
        code = str(attrs.get("code") or "")
        if not two_factor.code_attempt_allowed(user):
            raise exceptions.Throttled(detail="Too many wrong codes. Try again later.")
        if not code:
            raise exceptions.AuthenticationFailed(
                _(
                    "This account uses two-factor sign-in: send the authenticator's current code "
                    "(or a recovery code) as `code`."
                ),
                code="two_factor_required",
            )
        if two_factor.code_verify(user=user, code=code) is None:
            two_factor.code_failed(user)
            raise exceptions.AuthenticationFailed(
                _("The code is wrong, expired or already used."), code="two_factor_wrong"
            )
        two_factor.code_failures_reset(user)
        return data


@extend_schema(
    tags=["auth"],
    summary="Get an access and a refresh token for an e-mail address and password",
)
class LoginApi(jwt_views.TokenObtainPairView):
    throttle_classes = (LoginRateThrottle,)
    serializer_class = LoginSerializer

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().post(request, *args, **kwargs)


@extend_schema(
    tags=["auth"],
    summary="Exchange a refresh token for a new access token and a new refresh token",
    description="The refresh token given is used up: a second refresh with it is refused.",
)
class TokenRefreshApi(jwt_views.TokenRefreshView):
    throttle_classes = (LoginRateThrottle,)
    serializer_class = RefreshSerializer


@extend_schema(tags=["auth"], summary="Check that a token is valid")
class TokenVerifyApi(jwt_views.TokenVerifyView):
    throttle_classes = (LoginRateThrottle,)
    serializer_class = VerifySerializer
