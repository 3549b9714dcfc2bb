"""The public preference-centre API: what `/p/<token>/` shows and changes, as JSON. No
authentication (the delivery's signed token is the credential); its own budget per client
address (API_PREFERENCES_RATE). See subscriptions.preferences for what is shown and kept."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audience.selectors import recipient_values
from core.client_ip import client_ip
from subscriptions import preferences
from subscriptions.api.throttling import PreferencesRateThrottle


class ListOut(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()
    subscribed = serializers.BooleanField()


class PreferencesOut(serializers.Serializer[Any]):
    email = serializers.CharField()
    status = serializers.ChoiceField(
        choices=["open", "closed"],
        help_text="closed: the address gets no mail (unsubscribed, suppressed or erased); "
        "nothing can be changed.",
    )
    lists = ListOut(many=True)
    values = serializers.DictField(child=serializers.CharField(allow_blank=True))


class PreferencesIn(serializers.Serializer[Any]):
    lists = serializers.ListField(
        child=serializers.IntegerField(),
        required=False,
        help_text="Every list to be on, among those shown; left out: memberships stay.",
    )
    values = serializers.DictField(
        child=serializers.CharField(max_length=2000, allow_blank=True),
        required=False,
        help_text="first_name, last_name and the custom fields shown; those left out stay.",
    )
    unsubscribe_all = serializers.BooleanField(
        required=False, default=False, help_text="Stop all mail, as the unsubscribe link does."
    )


def _centre(token: str) -> preferences.Centre:
    centre = preferences.centre_for(token)
    if centre is None:
        raise Http404
    return centre


def _shown(centre: preferences.Centre) -> dict[str, Any]:
    if centre.recipient is None:
        return {"email": centre.email, "status": "closed", "lists": [], "values": {}}
    person = centre.recipient
    asked = [cf.key for cf in preferences.asked_fields(centre.workspace)]
    values = recipient_values(person, asked)
    member = preferences.member_of(person)
    return {
        "email": centre.email,
        "status": "open",
        "lists": [
            {"id": item.pk, "name": item.name, "subscribed": item.pk in member}
            for item in preferences.offered_lists(centre.workspace, person)
        ],
        "values": {name: values[name] for name in [*preferences.STANDARD, *asked]},
    }


@extend_schema(tags=["signup-forms"])
class PreferencesApi(APIView):
    authentication_classes = ()
    permission_classes = (AllowAny,)
    throttle_classes = (PreferencesRateThrottle,)

    @extend_schema(
        summary="A recipient's preferences, by the token of a message's link (public)",
        responses={200: PreferencesOut},
    )
    def get(self, request: Request, token: str) -> Response:
        return Response(_shown(_centre(token)))

    @extend_schema(
        summary="Change a recipient's lists and details, or unsubscribe them (public)",
        description="400 names each refused field (as `values.<name>`) and saves "
        "nothing; 409 when the preferences are closed.",
        request=PreferencesIn,
        responses={200: PreferencesOut},
    )
    def patch(self, request: Request, token: str) -> Response:
        centre = _centre(token)
        given = PreferencesIn(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        if centre.recipient is None:
            return Response(_shown(centre), status=status.HTTP_409_CONFLICT)
        if data["unsubscribe_all"]:
            preferences.unsubscribe_all(centre=centre)
            return Response(_shown(_centre(token)))
        fields: dict[str, str] = data.get("values", {})
        lists = data.get("lists")
        choices = preferences.Choices(
            lists=set(lists) if lists is not None else preferences.member_of(centre.recipient),
            values={k: v for k, v in fields.items() if k in preferences.STANDARD},
            custom={k: v for k, v in fields.items() if k not in preferences.STANDARD},
        )
        try:
            preferences.preferences_save(centre=centre, given=choices, ip=client_ip(request))
        except ValidationError as exc:
            # Named as sent: `values.age`, not the page's `field_age`.
            raise ApiValidationError(
                {f"values.{k.removeprefix('field_')}": v for k, v in exc.message_dict.items()}
            ) from exc
        return Response(_shown(_centre(token)))
