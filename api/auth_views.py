"""The Emailer System's token endpoints: /api/login/, /api/token/refresh/, /api/token/verify/."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework_simplejwt import views as jwt_views
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer

from api.throttling import LoginRateThrottle


class LoginSerializer(TokenObtainPairSerializer):
    """simplejwt's, with the address bounded as the user model bounds it.

    An overlong address is a 400 before anything is looked up (django-axes would otherwise try
    to record the failed login with it and overflow its column).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields[self.username_field] = serializers.CharField(write_only=True, max_length=254)


@extend_schema(
    tags=["auth"],
    summary="Get an access and a refresh token for an e-mail address and password",
)
class LoginApi(jwt_views.TokenObtainPairView):
    throttle_classes = (LoginRateThrottle,)
    serializer_class = LoginSerializer

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().post(request, *args, **kwargs)


@extend_schema(tags=["auth"], summary="Exchange a refresh token for a new access token")
class TokenRefreshApi(jwt_views.TokenRefreshView):
    throttle_classes = (LoginRateThrottle,)


@extend_schema(tags=["auth"], summary="Check that a token is valid")
class TokenVerifyApi(jwt_views.TokenVerifyView):
    throttle_classes = (LoginRateThrottle,)
