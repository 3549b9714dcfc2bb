"""`/api/sequences/`: automated sequences, their steps, activation and pause, enrolment by API
call (the API trigger) and each person's progress. The same services as the pages."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.access import WorkspaceRole, api_access
from audience.models import CustomField, Recipient, RecipientList
from automation.models import (
    EnrollmentState,
    Sequence,
    SequenceStatus,
    SequenceStep,
    SequenceTrigger,
    StepCondition,
    StopReason,
)
from automation.sequences import selectors
from automation.sequences.services import (
    DATE_OFFSET_MAX_DAYS,
    DELAY_MAX_SECONDS,
    SequenceData,
    SequenceError,
    StepData,
    sequence_activate,
    sequence_create,
    sequence_delete,
    sequence_enrol,
    sequence_pause,
    step_add,
    step_remove,
    step_update,
)
from content.models import Template
from core.api.pagination import KeysetPagination
from sending.models import SendingAccount

ENROL_MAX = 1000


class StepOut(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    position = serializers.IntegerField(help_text="1 is the first step.")
    template_id = serializers.IntegerField(allow_null=True)
    delay_seconds = serializers.IntegerField()
    window_start = serializers.TimeField(allow_null=True)
    window_end = serializers.TimeField(allow_null=True)
    condition = serializers.ChoiceField(
        StepCondition.choices,
        allow_blank=True,
        help_text="Whom the step is sent to, judged by the person's last message of the "
        "sequence: '' everyone, opened, clicked, not_opened, not_clicked. Who does not "
        "qualify skips the step.",
    )
    waiting = serializers.IntegerField(help_text="People whose next step this is.")
    queued = serializers.IntegerField(help_text="Handed to the engine, not sent yet.")
    sent = serializers.IntegerField()
    opened = serializers.IntegerField(help_text="People; machine opens left out.")
    clicked = serializers.IntegerField(help_text="People; link scanners left out.")


class SequenceOut(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()
    trigger = serializers.ChoiceField(SequenceTrigger.choices)
    trigger_list_id = serializers.IntegerField(allow_null=True)
    date_field_id = serializers.IntegerField(allow_null=True)
    date_offset_days = serializers.IntegerField()
    date_every_year = serializers.BooleanField()
    account_ids = serializers.ListField(child=serializers.IntegerField())
    stop_on_click = serializers.BooleanField()
    status = serializers.ChoiceField(SequenceStatus.choices)
    activated_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


class SequenceDetailOut(SequenceOut):
    enrolled = serializers.IntegerField()
    active = serializers.IntegerField()
    completed = serializers.IntegerField()
    stopped = serializers.DictField(child=serializers.IntegerField(), help_text="By reason.")
    steps = StepOut(many=True)


class SequenceIn(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=200)
    trigger = serializers.ChoiceField(SequenceTrigger.choices)
    trigger_list_id = serializers.IntegerField(required=False, allow_null=True)
    date_field_id = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text="Trigger date_field: a custom field of type date.",
    )
    date_offset_days = serializers.IntegerField(
        min_value=-DATE_OFFSET_MAX_DAYS,
        max_value=DATE_OFFSET_MAX_DAYS,
        default=0,
        help_text="Enrol on the date plus this many days: 0 on the day, -7 a week before.",
    )
    date_every_year = serializers.BooleanField(
        default=False,
        help_text="Enrol every year on the date's day and month (birthdays), not once.",
    )
    account_ids = serializers.ListField(child=serializers.IntegerField(), min_length=1)
    stop_on_click = serializers.BooleanField(default=True)


class StepIn(serializers.Serializer[Any]):
    template_id = serializers.IntegerField()
    delay_seconds = serializers.IntegerField(min_value=0, max_value=DELAY_MAX_SECONDS)
    window_start = serializers.TimeField(required=False, allow_null=True)
    window_end = serializers.TimeField(required=False, allow_null=True)
    condition = serializers.ChoiceField(
        StepCondition.choices, allow_blank=True, default=StepCondition.ALWAYS
    )


class StepPatchIn(serializers.Serializer[Any]):
    """What is not given stays as it is."""

    template_id = serializers.IntegerField(required=False)
    delay_seconds = serializers.IntegerField(
        min_value=0, max_value=DELAY_MAX_SECONDS, required=False
    )
    window_start = serializers.TimeField(required=False, allow_null=True)
    window_end = serializers.TimeField(required=False, allow_null=True)
    condition = serializers.ChoiceField(StepCondition.choices, allow_blank=True, required=False)


class DeletedOut(serializers.Serializer[Any]):
    cancelled = serializers.IntegerField(help_text="Queued messages cancelled, not sent.")


class EnrolIn(serializers.Serializer[Any]):
    recipient_ids = serializers.ListField(
        child=serializers.IntegerField(), required=False, max_length=ENROL_MAX
    )
    emails = serializers.ListField(
        child=serializers.EmailField(), required=False, max_length=ENROL_MAX
    )


class EnrolOut(serializers.Serializer[Any]):
    enrolled = serializers.IntegerField(help_text="People enrolled now (not before).")
    unknown = serializers.ListField(child=serializers.CharField(), help_text="Not recipients.")


class EnrollmentOut(serializers.Serializer[Any]):
    recipient_id = serializers.IntegerField()
    email = serializers.EmailField()
    state = serializers.ChoiceField(EnrollmentState.choices)
    stop_reason = serializers.ChoiceField(StopReason.choices, allow_blank=True)
    cycle = serializers.IntegerField(
        help_text="The year of the date for an every-year sequence (one enrollment a year), else 0."
    )
    steps_sent = serializers.IntegerField(help_text="Steps passed (sent or skipped).")
    next_step_at = serializers.DateTimeField(allow_null=True)
    enrolled_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)


class EnrollmentPageOut(serializers.Serializer[Any]):
    next = serializers.URLField(allow_null=True)
    first = serializers.URLField()
    results = EnrollmentOut(many=True)


class EnrolledPages(KeysetPagination):
    key = "enrolled_at"  # the index (sequence, enrolled_at, id)


def sequence_body(sequence: Sequence) -> dict[str, Any]:
    return {
        "id": sequence.pk,
        "name": sequence.name,
        "trigger": sequence.trigger,
        "trigger_list_id": sequence.trigger_list_id,
        "date_field_id": sequence.date_field_id,
        "date_offset_days": sequence.date_offset_days,
        "date_every_year": sequence.date_every_year,
        "account_ids": sorted(a.pk for a in sequence.accounts.all()),
        "stop_on_click": sequence.stop_on_click,
        "status": sequence.status,
        "activated_at": sequence.activated_at,
        "created_at": sequence.created_at,
    }


def detail_body(sequence: Sequence) -> dict[str, Any]:
    figures = selectors.sequence_figures(sequence)
    steps = [
        {
            "id": row.step.pk,
            "position": row.step.position + 1,
            "template_id": row.step.template_id,
            "delay_seconds": row.step.delay_seconds,
            "window_start": row.step.window_start,
            "window_end": row.step.window_end,
            "condition": row.step.condition,
            "waiting": row.waiting,
            "queued": row.queued,
            "sent": row.sent,
            "opened": row.opened,
            "clicked": row.clicked,
        }
        for row in figures.steps
    ]
    return sequence_body(sequence) | {
        "enrolled": figures.enrolled,
        "active": figures.active,
        "completed": figures.completed,
        "stopped": figures.stopped,
        "steps": steps,
    }


def _sequence(request: Request, sequence_id: int) -> Sequence:
    sequence = selectors.sequence_get(api_access(request).workspace, sequence_id)
    if sequence is None:
        raise NotFound(_("No such sequence."))
    return sequence


def _refused(exc: SequenceError) -> ValidationError:
    return ValidationError({"detail": [str(exc)]})


class SequenceListApi(APIView):
    """The workspace's sequences (GET) and a new one, a draft without steps (POST)."""

    permission_classes = (WorkspaceRole,)

    @extend_schema(tags=["sequences"], summary="List sequences", responses=SequenceOut(many=True))
    def get(self, request: Request) -> Response:
        rows = selectors.sequences_of(api_access(request).workspace).prefetch_related("accounts")
        return Response([sequence_body(s) for s in rows])

    @extend_schema(
        tags=["sequences"],
        summary="Create a sequence",
        request=SequenceIn,
        responses={201: SequenceOut},
    )
    def post(self, request: Request) -> Response:
        workspace = api_access(request).workspace
        given = SequenceIn(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        rlist = None
        if data.get("trigger_list_id") is not None:
            rlist = RecipientList.objects.filter(
                workspace=workspace, pk=data["trigger_list_id"]
            ).first()
            if rlist is None:
                raise ValidationError({"trigger_list_id": [_("No such list.")]})
        accounts = list(
            SendingAccount.objects.filter(workspace=workspace, pk__in=data["account_ids"])
        )
        if len(accounts) != len(set(data["account_ids"])):
            raise ValidationError({"account_ids": [_("No such sending account.")]})
        date_field = None
        if data.get("date_field_id") is not None:
            date_field = CustomField.objects.filter(
                workspace=workspace, pk=data["date_field_id"]
            ).first()
            if date_field is None:
                raise ValidationError({"date_field_id": [_("No such custom field.")]})
        try:
            sequence = sequence_create(
                workspace=workspace,
                data=SequenceData(
                    name=data["name"],
                    trigger=data["trigger"],
                    trigger_list=rlist,
                    accounts=accounts,
                    stop_on_click=data["stop_on_click"],
                    date_field=date_field,
                    date_offset_days=data["date_offset_days"],
                    date_every_year=data["date_every_year"],
                ),
            )
        except SequenceError as exc:
            raise _refused(exc) from exc
        return Response(sequence_body(sequence), status=status.HTTP_201_CREATED)


class SequenceDetailApi(APIView):
    """A sequence with its steps and figures."""

    permission_classes = (WorkspaceRole,)

    @extend_schema(tags=["sequences"], summary="A sequence", responses=SequenceDetailOut)
    def get(self, request: Request, sequence_id: int) -> Response:
        return Response(detail_body(_sequence(request, sequence_id)))

    @extend_schema(tags=["sequences"], summary="Delete a sequence", responses=DeletedOut)
    def delete(self, request: Request, sequence_id: int) -> Response:
        """Its steps and progress go; its step campaigns stay, cancelled, with what they
        sent; what they had queued is cancelled."""
        cancelled = sequence_delete(sequence=_sequence(request, sequence_id))
        return Response({"cancelled": cancelled})


class SequenceStepsApi(APIView):
    """Add a step at the end of the sequence."""

    permission_classes = (WorkspaceRole,)

    @extend_schema(
        tags=["sequences"],
        summary="Add a step",
        request=StepIn,
        responses={201: SequenceDetailOut},
    )
    def post(self, request: Request, sequence_id: int) -> Response:
        sequence = _sequence(request, sequence_id)
        given = StepIn(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        template = Template.objects.filter(
            workspace=sequence.workspace, pk=data["template_id"]
        ).first()
        if template is None:
            raise ValidationError({"template_id": [_("No such template.")]})
        try:
            step_add(
                sequence=sequence,
                data=StepData(
                    template=template,
                    delay_seconds=data["delay_seconds"],
                    window_start=data.get("window_start"),
                    window_end=data.get("window_end"),
                    condition=data["condition"],
                ),
            )
        except SequenceError as exc:
            raise _refused(exc) from exc
        return Response(detail_body(sequence), status=status.HTTP_201_CREATED)


def _template(sequence: Sequence, template_id: int) -> Template:
    template = Template.objects.filter(workspace=sequence.workspace, pk=template_id).first()
    if template is None:
        raise ValidationError({"template_id": [_("No such template.")]})
    return template


class SequenceStepApi(APIView):
    """Change a step (PATCH: only the fields given) or remove it (DELETE). As on the pages:
    a change applies to whoever has not reached the step; who waits for a removed step goes
    on to the next one."""

    permission_classes = (WorkspaceRole,)

    def _step(self, request: Request, sequence_id: int, step_id: int) -> SequenceStep:
        step = selectors.step_get(api_access(request).workspace, sequence_id, step_id)
        if step is None:
            raise NotFound(_("No such step."))
        return step

    @extend_schema(
        tags=["sequences"],
        summary="Change a step",
        request=StepPatchIn,
        responses=SequenceDetailOut,
    )
    def patch(self, request: Request, sequence_id: int, step_id: int) -> Response:
        step = self._step(request, sequence_id, step_id)
        given = StepPatchIn(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        template = (
            _template(step.sequence, data["template_id"])
            if "template_id" in data
            else step.template
        )
        if template is None:
            raise ValidationError({"template_id": [_("Choose a template.")]})
        try:
            step_update(
                step=step,
                data=StepData(
                    template=template,
                    delay_seconds=data.get("delay_seconds", step.delay_seconds),
                    window_start=data.get("window_start", step.window_start),
                    window_end=data.get("window_end", step.window_end),
                    condition=data.get("condition", step.condition),
                ),
            )
        except SequenceError as exc:
            raise _refused(exc) from exc
        return Response(detail_body(step.sequence))

    @extend_schema(tags=["sequences"], summary="Remove a step", responses=SequenceDetailOut)
    def delete(self, request: Request, sequence_id: int, step_id: int) -> Response:
        step = self._step(request, sequence_id, step_id)
        step_remove(step=step)
        return Response(detail_body(step.sequence))


class SequenceActivateApi(APIView):
    """Activate (or resume) the sequence."""

    permission_classes = (WorkspaceRole,)

    @extend_schema(
        tags=["sequences"], summary="Activate a sequence", request=None, responses=SequenceOut
    )
    def post(self, request: Request, sequence_id: int) -> Response:
        try:
            sequence = sequence_activate(sequence=_sequence(request, sequence_id))
        except SequenceError as exc:
            raise _refused(exc) from exc
        return Response(sequence_body(sequence))


class SequencePauseApi(APIView):
    """Pause the sequence: nothing of it is sent until it is activated again."""

    permission_classes = (WorkspaceRole,)

    @extend_schema(
        tags=["sequences"], summary="Pause a sequence", request=None, responses=SequenceOut
    )
    def post(self, request: Request, sequence_id: int) -> Response:
        try:
            sequence = sequence_pause(sequence=_sequence(request, sequence_id))
        except SequenceError as exc:
            raise _refused(exc) from exc
        return Response(sequence_body(sequence))


class SequenceEnrolApi(APIView):
    """Enrol recipients (by id or address, up to 1,000 a call) at the first step; those
    enrolled before are left where they are."""

    permission_classes = (WorkspaceRole,)

    @extend_schema(
        tags=["sequences"], summary="Enrol recipients", request=EnrolIn, responses=EnrolOut
    )
    def post(self, request: Request, sequence_id: int) -> Response:
        sequence = _sequence(request, sequence_id)
        given = EnrolIn(data=request.data)
        given.is_valid(raise_exception=True)
        ids = given.validated_data.get("recipient_ids", [])
        emails = [e.lower() for e in given.validated_data.get("emails", [])]
        if not ids and not emails:
            raise ValidationError({"recipient_ids": [_("Give recipient_ids or emails.")]})
        found = list(
            Recipient.objects.filter(workspace=sequence.workspace, pk__in=ids)
            | Recipient.objects.filter(workspace=sequence.workspace, email__in=emails)
        )
        known_ids = {r.pk for r in found}
        known_emails = {r.email.lower() for r in found}
        unknown = [str(i) for i in ids if i not in known_ids]
        unknown += [e for e in emails if e not in known_emails]
        try:
            enrolled = sequence_enrol(sequence=sequence, recipients=found)
        except SequenceError as exc:
            raise _refused(exc) from exc
        return Response({"enrolled": enrolled, "unknown": unknown})


class SequenceEnrollmentsApi(APIView):
    """Each enrolled person's progress, newest enrolment first (`?cursor=`: keyset pages)."""

    permission_classes = (WorkspaceRole,)

    @extend_schema(tags=["sequences"], summary="People in a sequence", responses=EnrollmentPageOut)
    def get(self, request: Request, sequence_id: int) -> Response:
        sequence = _sequence(request, sequence_id)
        paginator = EnrolledPages()
        rows = selectors.enrollments_of(sequence.workspace, sequence)
        page = paginator.paginate_queryset(rows, request, view=self) or []
        return paginator.get_paginated_response(
            [
                {
                    "recipient_id": e.recipient_id,
                    "email": e.recipient.email,
                    "state": e.state,
                    "stop_reason": e.stop_reason,
                    "cycle": e.cycle,
                    "steps_sent": e.position,
                    "next_step_at": e.next_step_at,
                    "enrolled_at": e.enrolled_at,
                    "finished_at": e.finished_at,
                }
                for e in page
            ]
        )
