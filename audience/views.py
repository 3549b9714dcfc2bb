"""Pages of the audience: recipients, import, lists, segments, fields, suppression, export.

Views parse input, call one service or selector, and render. Objects are looked up through
workspace-scoped selectors and `or_404`, so another workspace's ids answer 404.
"""

from __future__ import annotations

import json
from typing import Any, cast

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext
from django.views.decorators.http import require_POST

from accounts.access import access_of, or_404, user_of, workspace_view
from accounts.audit import services as audit
from accounts.confirm import confirm_page, is_confirmed
from accounts.models import Role
from audience import selectors, services
from audience.exports import csv_lines, recipient_rows, rejection_rows
from audience.forms import (
    CustomFieldForm,
    ListForm,
    RecipientForm,
    SuppressionForm,
    SuppressionImportForm,
    UploadForm,
)
from audience.importer import IMPORT_FIELDS, ImportFileError, auto_mapping, column_key, slug_for
from audience.models import (
    STANDARD_FIELDS,
    AudienceJob,
    CustomFieldType,
    JobKind,
    JobStatus,
    RecipientStatus,
    SuppressionReason,
)
from audience.segments import ENGAGEMENT_OPERATORS, OPERATORS, SegmentError
from core.digits import is_number
from core.keyset import other_params, page_from


def _ws(request: HttpRequest) -> Any:
    return access_of(request).workspace


def _errors(request: HttpRequest, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, message)


def filter_from(data: Any) -> selectors.RecipientFilter:
    """The recipients filter from query or form data (the same names everywhere)."""
    return selectors.RecipientFilter.from_params(
        {
            "q": data.get("q", ""),
            "status": data.get("status", ""),
            "list_id": data.get("list", ""),
            "segment_id": data.get("segment", ""),
            "field": data.get("field", ""),
            "op": data.get("op", ""),
            "value": data.get("value", ""),
        }
    )


# Standard fields as the import's mapping and the filters name them.
TARGET_LABELS = {
    "email": gettext_noop("Email"),
    "first_name": gettext_noop("First name"),
    "last_name": gettext_noop("Last name"),
    "company": gettext_noop("Company"),
    "country": gettext_noop("Country"),
    "city": gettext_noop("City"),
    "comment": gettext_noop("Comment"),
}


def _field_choices(workspace: Any) -> list[tuple[str, str]]:
    standard = [
        (name, _(TARGET_LABELS.get(name) or name.replace("_", " ").capitalize()))
        for name in STANDARD_FIELDS
    ]
    custom = [(f"field:{cf.key}", cf.label) for cf in selectors.custom_fields(workspace)]
    return [*standard, ("status", _("Status")), ("created_at", _("Added on")), *custom]


def _filter_context(workspace: Any) -> dict[str, Any]:
    return {
        "lists": selectors.lists_of(workspace),
        "segments": selectors.segments_of(workspace),
        "statuses": RecipientStatus.choices,
        "field_choices": _field_choices(workspace),
        "operators": [
            (k, v)
            for k, v in OPERATORS.items()
            if k not in ("in_list", "not_in_list") and k not in ENGAGEMENT_OPERATORS
        ],
    }


# --------------------------------------------------------------------------- recipients


@workspace_view()
def index(request: HttpRequest) -> HttpResponse:
    """The recipients table: keyset pages, sort, search, filters, selection, bulk actions."""
    workspace = _ws(request)
    flt = filter_from(request.GET)
    sort = request.GET.get("sort", "email")
    descending = request.GET.get("dir") == "desc"
    if sort not in selectors.SORTABLE:
        # An old link or a hand-made URL: say so rather than sort a million rows, or fail.
        messages.info(
            request,
            _("The table cannot be sorted by “%(sort)s”; it is sorted by e-mail.")
            % {"sort": sort[:40]},
        )
        sort, descending = "email", False
    try:
        qs = selectors.recipients_matching(workspace, flt)
        page = selectors.recipients_page(
            qs, sort=sort, descending=descending, cursor=request.GET.get("after", "")
        )
    except SegmentError as exc:
        messages.error(request, _("This filter cannot be used: %(error)s") % {"error": exc})
        qs = selectors.recipients_matching(workspace, selectors.RecipientFilter())
        page = selectors.recipients_page(qs, sort="email", descending=False, cursor="")
    keys = list(selectors.custom_fields(workspace).values_list("key", flat=True))
    params = request.GET.copy()
    params.pop("after", None)
    context = {
        **_filter_context(workspace),
        "page": page,
        "filter": flt,
        "total": selectors.recipients_total(workspace),
        "query": params.urlencode(),
        "filter_query": _filter_query(request),
        "field_keys": keys,
        "bulk_actions": services.BULK_ACTIONS,
        "recent_jobs": selectors.jobs_of(workspace).filter(kind=JobKind.BULK)[:3],
        # Only indexed columns sort (selectors.SORTABLE); the others' headers are plain text.
        "sort_columns": [
            (col, label, col in selectors.SORTABLE)
            for col, label in (
                ("email", _("E-mail")),
                ("first_name", _("First name")),
                ("last_name", _("Last name")),
                ("company", _("Company")),
                ("country", _("Country")),
                ("city", _("City")),
            )
        ],
    }
    return render(request, "audience/index.html", context)


def _filter_query(request: HttpRequest) -> str:
    params = request.GET.copy()
    for name in ("after", "sort", "dir"):
        params.pop(name, None)
    return params.urlencode()


@workspace_view()
def recipient_create(request: HttpRequest) -> HttpResponse:
    workspace = _ws(request)
    fields = selectors.custom_fields(workspace)
    form = RecipientForm(request.POST or None, custom_fields=fields)
    if request.method == "POST" and form.is_valid():
        try:
            recipient = services.recipient_create(
                workspace=workspace,
                email=form.cleaned_data["email"],
                values=form.standard_values(),
                fields=services.clean_custom_values(workspace, form.custom_raw()),
            )
        except ValidationError as exc:
            _add_form_errors(form, exc)
        else:
            messages.success(request, _("%(email)s added.") % {"email": recipient.email})
            return redirect("audience:index")
    return render(request, "audience/recipient_form.html", {"form": form, "recipient": None})


def _add_form_errors(form: Any, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


@workspace_view()
def recipient_detail(request: HttpRequest, recipient_id: int) -> HttpResponse:
    """Show and edit one recipient (POST needs editor)."""
    workspace = _ws(request)
    recipient = or_404(selectors.recipient_get(workspace, recipient_id))
    fields = selectors.custom_fields(workspace)
    initial = {
        **{name: getattr(recipient, name) for name in (*STANDARD_FIELDS, "status")},
        **{f"field_{k}": v for k, v in selectors.recipient_values(recipient).items()},
    }
    form = RecipientForm(request.POST or None, initial=initial, custom_fields=fields)
    if request.method == "POST" and form.is_valid():
        try:
            services.recipient_update(
                recipient=recipient,
                email=form.cleaned_data["email"],
                values=form.standard_values(),
                fields=services.clean_custom_values(workspace, form.custom_raw()),
            )
        except ValidationError as exc:
            _add_form_errors(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("audience:recipient_detail", recipient_id=recipient.pk)
    context = {
        "form": form,
        "recipient": recipient,
        "memberships": recipient.lists.all(),
        "suppressed": selectors.is_suppressed(workspace, recipient.email),
        "consents": selectors.consents_of(recipient),
    }
    return render(request, "audience/recipient_form.html", context)


@workspace_view(Role.EDITOR)
@require_POST
def recipient_delete(request: HttpRequest, recipient_id: int) -> HttpResponse:
    recipient = or_404(selectors.recipient_get(_ws(request), recipient_id))
    if not is_confirmed(request):
        return confirm_page(
            request,
            title=_("Delete %(email)s?") % {"email": recipient.email},
            losses=[
                _(
                    "This deletes %(email)s with their custom field values and list "
                    "memberships. Campaign reports keep the address they sent to."
                )
                % {"email": recipient.email}
            ],
            action_label=_("Delete the recipient"),
            cancel_url=reverse("audience:recipient_detail", kwargs={"recipient_id": recipient.pk}),
        )
    services.recipient_delete(recipient=recipient)
    messages.success(request, _("%(email)s deleted.") % {"email": recipient.email})
    return redirect("audience:index")


@workspace_view()
def recipient_data(request: HttpRequest, recipient_id: int) -> HttpResponse:
    """Everything stored about one recipient, as a JSON download (subject access request)."""
    recipient = or_404(selectors.recipient_get(_ws(request), recipient_id))
    audit.record("privacy.exported", workspace=recipient.workspace, target=recipient)
    response = JsonResponse(selectors.recipient_data(recipient), json_dumps_params={"indent": 2})
    response["Content-Disposition"] = f'attachment; filename="recipient-{recipient.pk}.json"'
    return response


@workspace_view(Role.EDITOR)
def recipient_erase(request: HttpRequest, recipient_id: int) -> HttpResponse:
    """Confirm (GET) and erase (POST) a recipient; the user decides if the address stays blocked."""
    workspace = _ws(request)
    recipient = or_404(selectors.recipient_get(workspace, recipient_id))
    if request.method == "POST":
        keep = request.POST.get("keep_blocked") == "on"
        services.recipient_erase(recipient=recipient, keep_blocked=keep)
        messages.success(
            request,
            _("Erased. The address stays on the suppression list only.")
            if keep
            else _("Erased. Nothing about this person is stored any more."),
        )
        return redirect("audience:index")
    suppressed = selectors.is_suppressed(workspace, recipient.email)
    return render(
        request, "audience/recipient_erase.html", {"recipient": recipient, "suppressed": suppressed}
    )


@workspace_view(Role.EDITOR)
@require_POST
def bulk(request: HttpRequest) -> HttpResponse:
    """Apply a bulk action to the selected rows, or to all that match the filter.

    Up to AUDIENCE_BULK_INLINE_MAX recipients are changed at once; more become a background
    job whose progress page the user is sent to.
    """
    workspace = _ws(request)
    action = request.POST.get("action", "")
    list_id = request.POST.get("target_list", "")
    target = selectors.list_get(workspace, int(list_id)) if is_number(list_id) else None
    back = f"{reverse('audience:index')}?{request.POST.get('filter_query', '')}"
    try:
        if request.POST.get("scope") == "all":
            flt = filter_from(request.POST)
            limit = settings.AUDIENCE_BULK_INLINE_MAX
            qs = selectors.recipients_matching(workspace, flt)
            if qs[: limit + 1].count() > limit:
                if action == "delete" and not is_confirmed(request):
                    return _confirm_bulk_delete(request, qs.count(), back)
                job = services.bulk_job_create(
                    workspace=workspace,
                    user=user_of(request),
                    action=action,
                    flt=flt,
                    recipient_list=target,
                )
                return redirect("audience:job_detail", job_id=job.pk)
            ids = list(qs.values_list("pk", flat=True))
        else:
            ids = [int(i) for i in request.POST.getlist("ids") if is_number(i)]
        if not ids:
            messages.error(request, _("Select at least one recipient."))
            return HttpResponseRedirect(back)
        if action == "delete" and not is_confirmed(request):
            return _confirm_bulk_delete(request, len(ids), back)
        count = services.recipients_bulk_apply(
            workspace=workspace, action=action, ids=ids, recipient_list=target
        )
    except (ValidationError, SegmentError) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
        return HttpResponseRedirect(back)
    messages.success(
        request,
        # The English stays "recipient(s)" as before; Russian has its three forms.
        ngettext(
            "%(action)s: %(count)s recipient(s).", "%(action)s: %(count)s recipient(s).", count
        )
        % {"action": _(services.BULK_ACTIONS[action]), "count": count},
    )
    return HttpResponseRedirect(back)


def _confirm_bulk_delete(request: HttpRequest, count: int, back: str) -> HttpResponse:
    losses = [
        ngettext(
            "This deletes %(n)s recipient, with their custom field values and list memberships.",
            "This deletes %(n)s recipients, with their custom field values and list memberships.",
            count,
        )
        % {"n": f"{count:,}"},
        _(
            "Campaign reports keep the addresses they sent to. Suppressed addresses stay "
            "suppressed."
        ),
    ]
    return confirm_page(
        request,
        title=ngettext("Delete %(n)s recipient?", "Delete %(n)s recipients?", count)
        % {"n": f"{count:,}"},
        losses=losses,
        action_label=_("Delete them"),
        cancel_url=back,
    )


@workspace_view()
def export(request: HttpRequest) -> HttpResponse:
    """Stream the recipients the filter selects (all, a list, a segment) as CSV.

    Without `download=1` it shows the choices page instead, so a plain visit never starts a
    download of the whole audience.
    """
    workspace = _ws(request)
    if request.GET.get("download") != "1":
        return render(request, "audience/export.html", _filter_context(workspace))
    try:
        qs = selectors.recipients_matching(workspace, filter_from(request.GET))
    except SegmentError as exc:
        raise Http404(str(exc)) from exc
    keys = list(selectors.custom_fields(workspace).values_list("key", flat=True))
    audit.record("export.downloaded", workspace=workspace, filter=request.GET.urlencode()[:500])
    response = StreamingHttpResponse(
        csv_lines(recipient_rows(qs, keys)), content_type="text/csv; charset=utf-8"
    )
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="recipients-{stamp}.csv"'
    # The access guard is typed for HttpResponse; a streaming response is served the same way.
    return cast(HttpResponse, response)


# --------------------------------------------------------------------------- import and jobs


@workspace_view()
def import_upload(request: HttpRequest) -> HttpResponse:
    """Upload a CSV (GET shows the form and recent imports). Unreadable files change nothing."""
    workspace = _ws(request)
    limit = settings.AUDIENCE_IMPORT_MAX_BYTES
    if request.method == "POST" and _content_length(request) > limit + 64 * 1024:
        # Refused before the body is read: a 200 MB upload is not stored only to be refused.
        error = (
            f"The file is larger than {limit / 1e6:.0f} MB, the largest file Postroom imports. "
            "Split it into smaller files and import them one by one."
        )
        return _upload_page(request, UploadForm(), status=413, error=error)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            job = services.import_upload(
                workspace=workspace,
                user=user_of(request),
                upload=form.cleaned_data["file"],
                encoding=form.cleaned_data["encoding"],
                delimiter=form.cleaned_data["delimiter"],
            )
        except ImportFileError as exc:
            form.add_error("file", str(exc))
        else:
            return redirect("audience:job_detail", job_id=job.pk)
    return _upload_page(request, form)


def _content_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _upload_page(
    request: HttpRequest, form: UploadForm, status: int = 200, error: str = ""
) -> HttpResponse:
    jobs = selectors.jobs_of(_ws(request)).filter(kind=JobKind.IMPORT)[:10]
    limit_mb = settings.AUDIENCE_IMPORT_MAX_BYTES // 1_000_000
    context = {"form": form, "jobs": jobs, "limit_mb": limit_mb, "error": error}
    return render(request, "audience/import.html", context, status=status)


def _mapping_rows(job: Any, workspace: Any) -> list[dict[str, Any]]:
    header: list[str] = job.params["header"]
    custom = dict(selectors.custom_fields(workspace).values_list("key", "label"))
    proposed = job.params.get("mapping") or auto_mapping(header, custom)
    preview: list[list[str]] = job.params.get("preview", [])
    rows = []
    for index, name in enumerate(header):
        slug = column_key(name, index)
        known = slug in custom or slug in STANDARD_FIELDS or slug == "status"
        rows.append(
            {
                "index": index,
                "name": name,
                "target": proposed[index] if index < len(proposed) else "",
                "new_key": "" if known else slug,
                "samples": [r[index] for r in preview if index < len(r)][:3],
            }
        )
    return rows


def _targets(workspace: Any) -> list[tuple[str, str]]:
    standard = [
        (name, _(TARGET_LABELS.get(name) or name.replace("_", " ").capitalize()))
        for name in IMPORT_FIELDS
    ]
    custom = [
        (f"field:{cf.key}", _("%(label)s (custom)") % {"label": cf.label})
        for cf in selectors.custom_fields(workspace)
    ]
    return [*standard, *custom]


@workspace_view()
def job_detail(request: HttpRequest, job_id: int) -> HttpResponse:
    """A job's page: the column mapping of an import not started yet, else progress/report."""
    workspace = _ws(request)
    job = or_404(selectors.job_get(workspace, job_id))
    if job.status == JobStatus.DRAFT and request.method == "POST":
        return _start_import(request, job)
    if request.method == "POST":
        return redirect("audience:job_detail", job_id=job.pk)
    context: dict[str, Any] = {"job": job, "lists": selectors.lists_of(workspace)}
    if job.status == JobStatus.DRAFT:
        rows = _mapping_rows(job, workspace)
        context.update(
            rows=rows,
            targets=_targets(workspace),
            field_types=CustomFieldType.choices,
            preview=job.params.get("preview", []),
            header=job.params["header"],
            no_email="email" not in [r["target"] for r in rows],
            mode=job.params.get("mode", "add"),
        )
        return render(request, "audience/import_mapping.html", context)
    context["rejections"] = job.rejections.filter(duplicate=False)[:100]
    context["duplicate_rows"] = job.rejections.filter(duplicate=True)[:100]
    return render(request, "audience/job.html", context)


def _start_import(request: HttpRequest, job: Any) -> HttpResponse:
    workspace = _ws(request)
    count = len(job.params["header"])
    mapping, new_fields = [], {}
    for index in range(count):
        target = request.POST.get(f"col_{index}", "")
        if target == "new":
            # Never "" (which would skip the column without a word): the typed key, else one
            # made from the column's name, else column_<n>.
            typed = slug_for(request.POST.get(f"new_key_{index}", ""))
            key = typed or column_key(job.params["header"][index], index)
            target = f"new:{key}"
            new_fields[key] = request.POST.get(f"new_type_{index}", CustomFieldType.TEXT)
        mapping.append(target)
    list_id = request.POST.get("target_list", "")
    target_list = selectors.list_get(workspace, int(list_id)) if is_number(list_id) else None
    try:
        services.import_start(
            job=job,
            mapping=mapping,
            new_fields=new_fields,
            mode=request.POST.get("mode", "add"),
            recipient_list=target_list,
        )
    except ValidationError as exc:
        _errors(request, exc)
        # Show the user's choices again, not the automatic ones.
        kept = [t if not t.startswith("new:") else "" for t in mapping]
        AudienceJob.objects.filter(pk=job.pk).update(params={**job.params, "mapping": kept})
    return redirect("audience:job_detail", job_id=job.pk)


@workspace_view()
def job_progress(request: HttpRequest, job_id: int) -> HttpResponse:
    """The progress part of a job's page, polled by htmx until the job ends."""
    job = or_404(selectors.job_get(_ws(request), job_id))
    response = render(request, "audience/_job_progress.html", {"job": job})
    if job.is_finished and request.headers.get("HX-Request"):
        # Reload the whole page once, so the report and its rejected rows appear.
        response["HX-Refresh"] = "true"
    return response


@workspace_view(Role.EDITOR)
@require_POST
def job_cancel(request: HttpRequest, job_id: int) -> HttpResponse:
    job = or_404(selectors.job_get(_ws(request), job_id))
    services.job_cancel(job=job)
    messages.info(request, _("Cancelling: the job stops after the batch it is writing."))
    return redirect("audience:job_detail", job_id=job.pk)


@workspace_view()
def job_rejections(request: HttpRequest, job_id: int) -> HttpResponse:
    """Every rejected row of an import with its line and reason, as CSV."""
    job = or_404(selectors.job_get(_ws(request), job_id))
    response = StreamingHttpResponse(
        csv_lines(rejection_rows(job)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-rejected.csv"'
    return cast(HttpResponse, response)


# --------------------------------------------------------------------------- lists


@workspace_view()
def lists(request: HttpRequest) -> HttpResponse:
    workspace = _ws(request)
    form = ListForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.list_create(workspace=workspace, **form.cleaned_data)
        except ValidationError as exc:
            _add_form_errors(form, exc)
        else:
            messages.success(request, _("List created."))
            return redirect("audience:lists")
    return render(
        request,
        "audience/lists.html",
        {"form": form, "lists": selectors.lists_with_counts(workspace)},
    )


@workspace_view()
def list_detail(request: HttpRequest, list_id: int) -> HttpResponse:
    recipient_list = or_404(selectors.list_get(_ws(request), list_id))
    form = ListForm(
        request.POST or None,
        initial={
            "name": recipient_list.name,
            "description": recipient_list.description,
            "single_opt_in": recipient_list.single_opt_in,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.list_update(recipient_list=recipient_list, **form.cleaned_data)
        except ValidationError as exc:
            _add_form_errors(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("audience:lists")
    return render(request, "audience/list_form.html", {"form": form, "list": recipient_list})


@workspace_view(Role.EDITOR)
@require_POST
def list_delete(request: HttpRequest, list_id: int) -> HttpResponse:
    recipient_list = or_404(selectors.list_get(_ws(request), list_id))
    if not is_confirmed(request):
        members = selectors.list_member_count(recipient_list)
        return confirm_page(
            request,
            title=_("Delete the list %(name)s?") % {"name": recipient_list.name},
            losses=[
                ngettext(
                    "This deletes the list and its membership of %(n)s recipient; the "
                    "recipient stays.",
                    "This deletes the list and its membership of %(n)s recipients; the "
                    "recipients stay.",
                    members,
                )
                % {"n": f"{members:,}"},
                _("Segments and draft campaigns that use the list no longer find anyone by it."),
            ],
            action_label=_("Delete the list"),
            cancel_url=reverse("audience:lists"),
        )
    services.list_delete(recipient_list=recipient_list)
    messages.success(
        request,
        _("List %(name)s deleted; its recipients stay.") % {"name": recipient_list.name},
    )
    return redirect("audience:lists")


# --------------------------------------------------------------------------- segments


def definition_from(data: Any) -> Any:
    """A segment definition from the builder's rows, or from the advanced JSON when given."""
    raw = (data.get("definition_json") or "").strip()
    if raw:
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise ValidationError(
                _("The definition is not valid JSON: %(reason)s") % {"reason": exc}
            ) from exc
    conditions = [
        {"field": f, "op": o, "value": v}
        for f, o, v in zip(
            data.getlist("cond_field"),
            data.getlist("cond_op"),
            data.getlist("cond_value"),
            strict=False,
        )
        if f and o
    ]
    return {"match": "any" if data.get("match") == "any" else "all", "conditions": conditions}


@workspace_view()
def segments(request: HttpRequest) -> HttpResponse:
    workspace = _ws(request)
    return render(request, "audience/segments.html", {"segments": selectors.segments_of(workspace)})


def _segment_rows(definition: Any) -> tuple[list[dict[str, Any]], bool]:
    conditions = (definition or {}).get("conditions") or []
    flat = all(isinstance(c, dict) and "conditions" not in c for c in conditions)
    rows = [c for c in conditions if flat]
    return [*rows, *({"field": "", "op": "", "value": ""} for _ in range(3))], not flat


@workspace_view()
def segment_edit(request: HttpRequest, segment_id: int | None = None) -> HttpResponse:
    """Create (no id) or edit a segment with a live count of the recipients it selects."""
    workspace = _ws(request)
    segment = or_404(selectors.segment_get(workspace, segment_id)) if segment_id else None
    definition = segment.definition if segment else {"match": "all", "conditions": []}
    name = segment.name if segment else ""
    if request.method == "POST":
        name = request.POST.get("name", "")
        try:
            definition = definition_from(request.POST)
            saved = services.segment_save(
                workspace=workspace, name=name, definition=definition, segment=segment
            )
        except ValidationError as exc:
            _errors(request, exc)
        else:
            messages.success(request, _("Segment %(name)s saved.") % {"name": saved.name})
            return redirect(f"{reverse('audience:index')}?segment={saved.pk}")
    rows, nested = _segment_rows(definition)
    try:
        count, count_error = selectors.segment_count(workspace, definition), ""
    except SegmentError as exc:
        count, count_error = None, str(exc)
    context = {
        "count": count,
        "error": count_error,
        **_filter_context(workspace),
        "segment": segment,
        "name": name,
        "match": (definition or {}).get("match", "all"),
        "rows": rows,
        "nested": nested,
        "definition_json": json.dumps(definition, indent=2) if nested else "",
        "all_operators": list(OPERATORS.items()),
    }
    return render(request, "audience/segment_form.html", context)


@workspace_view()
def segment_count(request: HttpRequest) -> HttpResponse:
    """The live count while a segment is edited (htmx); GET with the builder's fields."""
    workspace = _ws(request)
    try:
        count = selectors.segment_count(workspace, definition_from(request.GET))
        error = ""
    except (ValidationError, SegmentError) as exc:
        count, error = None, " ".join(getattr(exc, "messages", [str(exc)]))
    return render(request, "audience/_segment_count.html", {"count": count, "error": error})


@workspace_view(Role.EDITOR)
@require_POST
def segment_delete(request: HttpRequest, segment_id: int) -> HttpResponse:
    segment = or_404(selectors.segment_get(_ws(request), segment_id))
    if not is_confirmed(request):
        return confirm_page(
            request,
            title=_("Delete the segment %(name)s?") % {"name": segment.name},
            losses=[
                _(
                    "This deletes the segment's saved filter. No recipient is deleted; "
                    "draft campaigns that use it lose it from their audience."
                )
            ],
            action_label=_("Delete the segment"),
            cancel_url=reverse("audience:segments"),
        )
    services.segment_delete(segment=segment)
    messages.success(request, _("Segment %(name)s deleted.") % {"name": segment.name})
    return redirect("audience:segments")


# --------------------------------------------------------------------------- custom fields


@workspace_view()
def fields(request: HttpRequest) -> HttpResponse:
    workspace = _ws(request)
    form = CustomFieldForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.custom_field_create(
                workspace=workspace,
                key=form.cleaned_data["key"],
                label=form.cleaned_data["label"],
                type=form.cleaned_data["type"],
                choices=form.choice_list(),
            )
        except ValidationError as exc:
            _add_form_errors(form, exc)
        else:
            messages.success(request, _("Field added."))
            return redirect("audience:fields")
    return render(
        request,
        "audience/fields.html",
        {"form": form, "fields": selectors.custom_fields(workspace), "standard": STANDARD_FIELDS},
    )


@workspace_view()
def field_detail(request: HttpRequest, field_id: int) -> HttpResponse:
    field = or_404(selectors.custom_field_get(_ws(request), field_id))
    initial = {
        "key": field.key,
        "label": field.label,
        "type": field.type,
        "choices": ", ".join(field.choices),
    }
    form = CustomFieldForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        services.custom_field_update(
            field=field,
            label=form.cleaned_data["label"],
            type=form.cleaned_data["type"],
            choices=form.choice_list(),
        )
        messages.success(request, _("Saved."))
        return redirect("audience:fields")
    form.fields["key"].disabled = True
    return render(request, "audience/field_form.html", {"form": form, "field": field})


@workspace_view(Role.EDITOR)
@require_POST
def field_delete(request: HttpRequest, field_id: int) -> HttpResponse:
    """Delete a field and its values, after a page that says what will be lost."""
    workspace = _ws(request)
    field = or_404(selectors.custom_field_get(workspace, field_id))
    if not is_confirmed(request):
        held = selectors.custom_field_value_count(workspace, field.key)
        losses = [
            ngettext(
                "This deletes the field %(key)s and its value for %(n)s recipient.",
                "This deletes the field %(key)s and its values for %(n)s recipients.",
                held,
            )
            % {"key": field.key, "n": f"{held:,}"},
            _(
                "The values are no longer shown, exported, or usable in templates and "
                "segments: {%(key)s} in a template becomes empty."
            )
            % {"key": field.key},
        ]
        # Templates that read it would send nothing in its place: name them.
        losses += [
            _("It is used by %(user)s.") % {"user": user}
            for user in selectors.custom_field_users(field)
        ]
        return confirm_page(
            request,
            title=_("Delete the field %(key)s?") % {"key": field.key},
            losses=losses,
            action_label=_("Delete the field and its values"),
            cancel_url=reverse("audience:fields"),
        )
    services.custom_field_delete(field=field)
    messages.success(request, _("Field %(key)s deleted.") % {"key": field.key})
    return redirect("audience:fields")


# --------------------------------------------------------------------------- suppression


@workspace_view()
def suppression(request: HttpRequest) -> HttpResponse:
    """The suppression list; editors add (one address or a CSV), owners remove."""
    workspace = _ws(request)
    form = SuppressionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.suppression_add(
                workspace=workspace,
                email=form.cleaned_data["email"],
                reason=form.cleaned_data["reason"],
                source=f"added by {user_of(request).email}",
            )
        except ValidationError as exc:
            _add_form_errors(form, exc)
        else:
            messages.success(request, _("Address blocked."))
            return redirect("audience:suppression")
    q = request.GET.get("q", "").strip()
    entries = selectors.suppressions_matching(selectors.suppressions_of(workspace), q)
    context = {
        "form": form,
        "import_form": SuppressionImportForm(),
        # Every entry, a page at a time through the index (workspace, created_at, id): lists
        # imported from another service hold millions, which the first 200 hid.
        "page": page_from(entries, request.GET, key="created_at", size=selectors.PAGE_SIZE),
        "query": other_params(request.GET),
        "q": q,
    }
    return render(request, "audience/suppression.html", context)


@workspace_view(Role.EDITOR)
@require_POST
def suppression_import(request: HttpRequest) -> HttpResponse:
    workspace = _ws(request)
    form = SuppressionImportForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("Choose a CSV file."))
        return redirect("audience:suppression")
    upload = form.cleaned_data["file"]
    if upload.size > settings.AUDIENCE_IMPORT_MAX_BYTES:
        messages.error(request, _("The file is too large."))
        return redirect("audience:suppression")
    lines = (chunk.decode("utf-8-sig", errors="replace") for chunk in upload)
    added, invalid = services.suppression_import(
        workspace=workspace, lines=lines, reason=SuppressionReason.MANUAL, source="CSV import"
    )
    messages.success(
        request,
        ngettext("%(n)s address(es) blocked.", "%(n)s address(es) blocked.", added) % {"n": added},
    )
    if invalid:
        messages.warning(
            request,
            _("%(n)s invalid: %(addresses)s")
            % {"n": len(invalid), "addresses": ", ".join(invalid[:10])},
        )
    return redirect("audience:suppression")


@workspace_view(Role.OWNER)
@require_POST
def suppression_delete(request: HttpRequest, suppression_id: int) -> HttpResponse:
    entry = or_404(selectors.suppression_get(_ws(request), suppression_id))
    if not is_confirmed(request):
        return confirm_page(
            request,
            title=_("Let campaigns mail %(email)s again?") % {"email": entry.email},
            losses=[
                _(
                    "%(email)s was suppressed (%(reason)s). Campaigns send to it again, running "
                    "ones included: do this only if the person asked for it."
                )
                % {"email": entry.email, "reason": entry.get_reason_display()}
            ],
            action_label=_("Remove from the suppression list"),
            cancel_url=reverse("audience:suppression"),
        )
    services.suppression_remove(suppression=entry)
    messages.success(request, _("%(email)s may be mailed again.") % {"email": entry.email})
    return redirect("audience:suppression")
