"""The sequence pages: the list, the sequence's settings and steps, its figures and each
person's progress, and the actions (activate, pause, add, change, move and remove steps)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from accounts.access import access_of, or_404, workspace_view
from accounts.confirm import confirm_page, is_confirmed
from accounts.models import Role
from automation.sequences import selectors
from automation.sequences.forms import SequenceForm, StepForm, step_initial
from automation.sequences.services import (
    SequenceError,
    current_steps,
    sequence_activate,
    sequence_create,
    sequence_delete,
    sequence_enrol_addresses,
    sequence_pause,
    sequence_update,
    step_add,
    step_move,
    step_remove,
    step_update,
)
from core.keyset import page_from

PAGE_SIZE = 50


@workspace_view()
def sequence_index(request: HttpRequest) -> HttpResponse:
    workspace = access_of(request).workspace
    sequences = selectors.sequences_of(workspace).select_related("trigger_list", "date_field")
    return render(request, "automation/sequences/index.html", {"sequences": sequences})


@workspace_view(Role.EDITOR)
def sequence_create_view(request: HttpRequest) -> HttpResponse:
    workspace = access_of(request).workspace
    form = SequenceForm(request.POST or None, workspace=workspace)
    if request.method == "POST" and form.is_valid():
        try:
            sequence = sequence_create(workspace=workspace, data=form.data_for_service())
        except SequenceError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Sequence created. Add its steps, then activate it."))
            return redirect("automation:sequence", sequence_id=sequence.pk)
    return render(request, "automation/sequences/form.html", {"form": form, "sequence": None})


@workspace_view(Role.EDITOR)
def sequence_edit(request: HttpRequest, sequence_id: int) -> HttpResponse:
    workspace = access_of(request).workspace
    sequence = or_404(selectors.sequence_get(workspace, sequence_id))
    initial = {
        "name": sequence.name,
        "trigger": sequence.trigger,
        "trigger_list": sequence.trigger_list_id,
        "date_field": sequence.date_field_id,
        "date_offset_days": sequence.date_offset_days,
        "date_every_year": sequence.date_every_year,
        "accounts": list(sequence.accounts.values_list("pk", flat=True)),
        "stop_on_click": sequence.stop_on_click,
    }
    form = SequenceForm(request.POST or None, workspace=workspace, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            sequence_update(sequence=sequence, data=form.data_for_service())
        except SequenceError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Sequence saved."))
            return redirect("automation:sequence", sequence_id=sequence.pk)
    return render(request, "automation/sequences/form.html", {"form": form, "sequence": sequence})


@workspace_view()
def sequence_detail(request: HttpRequest, sequence_id: int) -> HttpResponse:
    workspace = access_of(request).workspace
    sequence = or_404(selectors.sequence_get(workspace, sequence_id))
    context = {
        "sequence": sequence,
        "figures": selectors.sequence_figures(sequence),
        "step_count": len(current_steps(sequence)),
        "accounts": sequence.accounts.all(),
        # Keyset pages through the index (sequence, enrolled_at, id): a sequence of a million
        # people costs page 1 at any depth, where a page number counted and skipped them.
        "page": page_from(
            selectors.enrollments_of(workspace, sequence),
            request.GET,
            key="enrolled_at",
            size=PAGE_SIZE,
        ),
        "step_form": StepForm(workspace=workspace),
    }
    return render(request, "automation/sequences/detail.html", context)


@workspace_view(Role.EDITOR)
@require_POST
def sequence_activate_view(request: HttpRequest, sequence_id: int) -> HttpResponse:
    sequence = or_404(selectors.sequence_get(access_of(request).workspace, sequence_id))
    try:
        sequence_activate(sequence=sequence)
    except SequenceError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("The sequence is active."))
    return redirect("automation:sequence", sequence_id=sequence.pk)


@workspace_view(Role.EDITOR)
@require_POST
def sequence_pause_view(request: HttpRequest, sequence_id: int) -> HttpResponse:
    sequence = or_404(selectors.sequence_get(access_of(request).workspace, sequence_id))
    try:
        sequence_pause(sequence=sequence)
    except SequenceError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, _("The sequence is paused: nothing more is sent until it is activated again.")
        )
    return redirect("automation:sequence", sequence_id=sequence.pk)


@workspace_view(Role.EDITOR)
@require_POST
def sequence_delete_view(request: HttpRequest, sequence_id: int) -> HttpResponse:
    sequence = or_404(selectors.sequence_get(access_of(request).workspace, sequence_id))
    if not is_confirmed(request):
        return confirm_page(
            request,
            title=_("Delete the sequence “%(name)s”?") % {"name": sequence.name},
            losses=[
                _("Its steps and everyone's progress through it are deleted."),
                _("Nothing more is sent: messages queued and not sent yet are cancelled."),
                _("Messages it sent stay in each recipient's history and in the figures."),
            ],
            action_label=_("Delete the sequence"),
            cancel_url=reverse("automation:sequence", kwargs={"sequence_id": sequence.pk}),
        )
    sequence_delete(sequence=sequence)
    messages.success(request, _("Sequence deleted."))
    return redirect("automation:sequences")


@workspace_view(Role.EDITOR)
def step_create_view(request: HttpRequest, sequence_id: int) -> HttpResponse:
    workspace = access_of(request).workspace
    sequence = or_404(selectors.sequence_get(workspace, sequence_id))
    form = StepForm(request.POST or None, workspace=workspace)
    if request.method == "POST" and form.is_valid():
        try:
            step_add(sequence=sequence, data=form.data_for_service())
        except SequenceError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Step added."))
            return redirect("automation:sequence", sequence_id=sequence.pk)
    context = {"form": form, "sequence": sequence, "step": None}
    return render(request, "automation/sequences/step_form.html", context)


@workspace_view(Role.EDITOR)
def step_edit(request: HttpRequest, sequence_id: int, step_id: int) -> HttpResponse:
    workspace = access_of(request).workspace
    step = or_404(selectors.step_get(workspace, sequence_id, step_id))
    initial = {
        "template": step.template_id,
        "window_start": step.window_start,
        "window_end": step.window_end,
        "condition": step.condition,
        **step_initial(step.delay_seconds),
    }
    form = StepForm(request.POST or None, workspace=workspace, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            step_update(step=step, data=form.data_for_service())
        except SequenceError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request, _("Step saved: it applies to whoever has not reached it yet.")
            )
            return redirect("automation:sequence", sequence_id=sequence_id)
    context = {"form": form, "sequence": step.sequence, "step": step}
    return render(request, "automation/sequences/step_form.html", context)


@workspace_view(Role.EDITOR)
@require_POST
def step_remove_view(request: HttpRequest, sequence_id: int, step_id: int) -> HttpResponse:
    step = or_404(selectors.step_get(access_of(request).workspace, sequence_id, step_id))
    if not is_confirmed(request):
        return confirm_page(
            request,
            title=_("Remove step %(n)d?") % {"n": step.position + 1},
            losses=[
                _(
                    "Nobody is sent this step any more: whoever waits for it goes on to the "
                    "next step. Messages it sent stay in the figures of no step."
                )
            ],
            action_label=_("Remove the step"),
            cancel_url=reverse("automation:sequence", kwargs={"sequence_id": sequence_id}),
        )
    step_remove(step=step)
    messages.success(request, _("Step removed."))
    return redirect("automation:sequence", sequence_id=sequence_id)


@workspace_view(Role.EDITOR)
@require_POST
def step_move_view(request: HttpRequest, sequence_id: int, step_id: int) -> HttpResponse:
    step = or_404(selectors.step_get(access_of(request).workspace, sequence_id, step_id))
    step_move(step=step, up=request.POST.get("direction") == "up")
    return redirect("automation:sequence", sequence_id=sequence_id)


@workspace_view(Role.EDITOR)
@require_POST
def sequence_enrol_view(request: HttpRequest, sequence_id: int) -> HttpResponse:
    sequence = or_404(selectors.sequence_get(access_of(request).workspace, sequence_id))
    addresses = request.POST.get("addresses", "").replace(",", "\n").splitlines()
    try:
        done = sequence_enrol_addresses(sequence=sequence, addresses=addresses)
    except SequenceError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            ngettext("%(count)d person enrolled.", "%(count)d people enrolled.", done.enrolled)
            % {"count": done.enrolled},
        )
        if done.unknown:
            messages.warning(
                request,
                _("Not recipients of this workspace, left out: %(addresses)s")
                % {"addresses": ", ".join(done.unknown[:20])},
            )
    return redirect("automation:sequence", sequence_id=sequence.pk)
