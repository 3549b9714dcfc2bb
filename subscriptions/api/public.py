"""The public sign-up API: subscribe to a form by its public key, and confirm with the token of
the link. No authentication; each has its own budget per client address, and a sign-up
answers the same whatever happens to the address (as the hosted page does)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.client_ip import client_ip
from subscriptions import abuse, selectors, services
from subscriptions.api.throttling import SignupConfirmRateThrottle, SignupRateThrottle
from subscriptions.public import base_url

ANSWER = "If the address can receive our e-mails, a confirmation message is on its way."


class SubscribeIn(serializers.Serializer[Any]):
    email = serializers.CharField(max_length=254)
    values = serializers.DictField(
        child=serializers.CharField(max_length=2000, allow_blank=True), required=False
    )
    website = serializers.CharField(required=False, allow_blank=True, help_text="Leave empty")
    altcha = serializers.CharField(
        required=False, allow_blank=True, help_text="The solved challenge, when the form asks one"
    )


class AnswerOut(serializers.Serializer[Any]):
    status = serializers.CharField()
    detail = serializers.CharField()


class ConfirmIn(serializers.Serializer[Any]):
    token = serializers.CharField(max_length=500)


class _Public(APIView):
    authentication_classes = ()
    permission_classes = (AllowAny,)


@extend_schema(
    tags=["signup-forms"],
    summary="Sign an address up through a form (public, no authentication)",
    request=SubscribeIn,
    responses={202: AnswerOut},
)
class SubscribeApi(_Public):
    throttle_classes = (SignupRateThrottle,)

    def post(self, request: Request, form_key: str) -> Response:
        form = selectors.form_public(form_key)
        if form is None:
            raise Http404
        given = SubscribeIn(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        answer = Response({"status": "accepted", "detail": ANSWER}, status=status.HTTP_202_ACCEPTED)
        if data.get("website", "").strip():
            return answer
        if form.require_challenge and not abuse.solution_accepted(
            form.public_key, data.get("altcha", "")
        ):
            raise ApiValidationError({"altcha": ["Solve the form's challenge first."]})
        limited = abuse.check_address(form.workspace_id, data["email"].strip().lower())
        if limited is not None:
            return Response(
                {"status": "throttled", "detail": f"Try again in {limited.wait} seconds."},
                status=status.HTTP_429_TOO_MANY_REQUESTS,
                headers={"Retry-After": str(limited.wait)},
            )
        values = data.get("values", {})
        try:
            services.signup_submit(
                form=form,
                email=data["email"],
                values=values,
                custom=values,
                ip=client_ip(request),
                base_url=base_url(request),
                now=timezone.now(),
            )
        except ValidationError as exc:
            raise ApiValidationError(exc.message_dict) from exc
        return answer


@extend_schema(
    tags=["signup-forms"],
    summary="Confirm a sign-up with the token of its link (public, no authentication)",
    description="200 when confirmed (now or before); 400 with status `expired` or `invalid` "
    "for a link that no longer or never worked.",
    request=ConfirmIn,
    responses={200: AnswerOut},
)
class ConfirmApi(_Public):
    throttle_classes = (SignupConfirmRateThrottle,)

    def post(self, request: Request) -> Response:
        given = ConfirmIn(data=request.data)
        given.is_valid(raise_exception=True)
        done = services.signup_confirm(
            token=given.validated_data["token"], ip=client_ip(request), now=timezone.now()
        )
        ok = done.outcome in (services.ConfirmOutcome.CONFIRMED, services.ConfirmOutcome.ALREADY)
        words = {
            "confirmed": "The address has joined the lists.",
            "already": "The sign-up was confirmed before.",
            "expired": "The link has expired; sign up again.",
            "invalid": "The token is not valid.",
        }
        return Response(
            {"status": str(done.outcome), "detail": words[str(done.outcome)]},
            status=status.HTTP_200_OK if ok else status.HTTP_400_BAD_REQUEST,
        )
