"""Pages for templates: list, editor, preview, attachments and the starter gallery.

The preview HTML is served by its own view (`preview_frame`) with a Content-Security-Policy
that forbids scripts, plugins and every network access but images, and the `sandbox`
directive; the page shows it in `<iframe sandbox>`. Either alone keeps a template's script
from running in Postroom's origin; both together survive a browser that ignores one.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_POST

from accounts.access import access_of, or_404, workspace_view
from accounts.confirm import confirm_page, is_confirmed
from accounts.models import Role
from audience.selectors import placeholder_names, recipient_values
from content import forms, gallery, selectors, services
from content.message import RenderedMessage
from content.models import Template
from content.rendering import (
    SAMPLE_VALUES,
    TemplateParts,
    html_to_text,
    render_message,
    sample_values,
)
from content.syntax import ContentError, TemplateErrors, TemplateSyntaxError
from content.throttling import preview_wait

PREVIEW_CSP = "default-src 'none'; img-src data: https: http:; style-src 'unsafe-inline'; sandbox"


@workspace_view()
def index(request: HttpRequest) -> HttpResponse:
    workspace = access_of(request).workspace
    return render(request, "content/index.html", {"templates": selectors.templates(workspace)})


def _template(request: HttpRequest, template_id: int) -> Template:
    return or_404(selectors.template_get(access_of(request).workspace, template_id))


def _editor_context(request: HttpRequest, form: forms.TemplateForm, **extra: Any) -> dict[str, Any]:
    workspace = access_of(request).workspace
    return {"form": form, "placeholder_names": placeholder_names(workspace), **extra}


def _warnings(template: Template) -> list[str]:
    """What the saved template would send literally although it looks like a placeholder."""
    found = selectors.template_warnings(
        template.workspace,
        subject=template.subject,
        html_body=template.html_body,
        text_body=template.text_body,
    )
    return [str(w) for w in found]


def _save_error(form: forms.TemplateForm, error: TemplateSyntaxError) -> None:
    for each in error.errors if isinstance(error, TemplateErrors) else [error]:
        form.add_error(forms.FIELD_OF_PART.get(each.part, None), str(each))


def _generate_text(request: HttpRequest, form: forms.TemplateForm) -> forms.TemplateForm:
    """The editor's "Generate text from HTML": fill the text body, save nothing yet."""
    data = request.POST.copy()
    data["text_body"] = html_to_text(data.get("html_body", "")) if data.get("html_body") else ""
    messages.info(request, "The text body was generated from the HTML. Review it, then save.")
    return forms.TemplateForm(data, instance=form.instance)


@workspace_view(Role.EDITOR)
def create(request: HttpRequest) -> HttpResponse:
    form = forms.TemplateForm(request.POST or None)
    if request.method == "POST" and request.POST.get("action") == "generate_text":
        form = _generate_text(request, form)
    elif request.method == "POST" and form.is_valid():
        try:
            template = services.template_create(
                workspace=access_of(request).workspace, **form.cleaned_data
            )
        except TemplateSyntaxError as exc:
            _save_error(form, exc)
        else:
            messages.success(request, f"Template “{template.name}” created.")
            return redirect("content:edit", template_id=template.pk)
    return render(request, "content/template_form.html", _editor_context(request, form))


@workspace_view()
def edit(request: HttpRequest, template_id: int) -> HttpResponse:
    template = _template(request, template_id)
    form = forms.TemplateForm(request.POST or None, instance=template)
    if request.method == "POST" and request.POST.get("action") == "generate_text":
        form = _generate_text(request, form)
    elif request.method == "POST" and form.is_valid():
        try:
            services.template_update(template=template, **form.cleaned_data)
        except TemplateSyntaxError as exc:
            _save_error(form, exc)
        else:
            messages.success(request, "Template saved.")
            return redirect("content:edit", template_id=template.pk)
    context = _editor_context(
        request,
        form,
        template=template,
        attachments=template.attachments.all(),
        warnings=_warnings(template) if request.method == "GET" else [],
    )
    return render(request, "content/template_form.html", context)


@require_POST
@workspace_view(Role.EDITOR)
def duplicate(request: HttpRequest, template_id: int) -> HttpResponse:
    copy = services.template_duplicate(template=_template(request, template_id))
    messages.success(request, f"Created “{copy.name}”.")
    return redirect("content:edit", template_id=copy.pk)


@workspace_view(Role.EDITOR)
def delete(request: HttpRequest, template_id: int) -> HttpResponse:
    template = _template(request, template_id)
    if request.method == "POST":
        try:
            services.template_delete(template=template)
        except ContentError as exc:
            messages.error(request, str(exc))
            return redirect("content:edit", template_id=template.pk)
        messages.success(request, f"Template “{template.name}” deleted.")
        return redirect("content:index")
    return render(request, "content/template_delete.html", {"template": template})


# --- Preview --------------------------------------------------------------------------------


class PreviewThrottled(ContentError):
    """This person has used up the preview budget (PREVIEW_RATE) for now."""

    def __init__(self, wait: float) -> None:
        self.wait = max(1, round(wait))
        super().__init__(
            _("Too many previews: try again in {seconds} s.").format(seconds=self.wait)
        )


def _preview_message(request: HttpRequest, template: Template) -> tuple[RenderedMessage, Any]:
    """The template rendered for the recipient picked in ?recipient=, or with sample data.

    Raises PreviewThrottled past the preview budget, before any rendering."""
    wait = preview_wait(request)
    if wait is not None:
        raise PreviewThrottled(wait)
    workspace = access_of(request).workspace
    form = forms.PreviewForm(request.GET)
    wanted = form.cleaned_data if form.is_valid() else {}
    recipient_id, email = wanted.get("recipient"), wanted.get("email") or ""
    recipient = selectors.preview_recipient(workspace, recipient_id=recipient_id, email=email)
    if recipient_id and recipient is None:
        raise Http404("No such recipient")
    if email.strip() and recipient is None:
        raise ContentError(f"There is no recipient {email.strip()} in this workspace.")
    names = placeholder_names(workspace)
    values = sample_values(names)
    if recipient is not None:
        values |= recipient_values(recipient, selectors.field_keys(workspace))
    message = render_message(
        template,
        values,
        from_email="sender@example.com",
        from_name=workspace.name,
        to=values.get("email") or SAMPLE_VALUES["email"],
    )
    return message, recipient


@workspace_view()
def preview(request: HttpRequest, template_id: int) -> HttpResponse:
    template = _template(request, template_id)
    throttled: PreviewThrottled | None = None
    try:
        message, recipient = _preview_message(request, template)
    except ContentError as exc:
        message, recipient = None, None
        messages.error(request, f"No preview: {exc}")
        throttled = exc if isinstance(exc, PreviewThrottled) else None
    width = "phone" if request.GET.get("width") == "phone" else "desktop"
    context = {
        "template": template,
        "message": message,
        "recipient": recipient,
        "recipients": selectors.preview_recipients(access_of(request).workspace),
        "width": width,
        "query": request.GET.urlencode(),
    }
    response = render(request, "content/preview.html", context, status=429 if throttled else 200)
    if throttled is not None:
        response["Retry-After"] = str(throttled.wait)
    return response


@xframe_options_sameorigin
@workspace_view()
def preview_frame(request: HttpRequest, template_id: int) -> HttpResponse:
    """Only the rendered HTML, under a CSP that lets no script run and nothing load."""
    template = _template(request, template_id)
    status = 200
    try:
        message, _recipient = _preview_message(request, template)
        body = message.html if message.html is not None else ""
    except ContentError as exc:
        body = format_html("<p>No preview: {}</p>", str(exc))
        status = 429 if isinstance(exc, PreviewThrottled) else 200
    if not body:
        body = "<p>This template has no HTML part: see its text below.</p>"
    response = _sandboxed(body)
    response.status_code = status
    return response


def _sandboxed(body: str) -> HttpResponse:
    response = HttpResponse(body, content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = PREVIEW_CSP
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "private, no-store"
    return response


# --- Attachments ----------------------------------------------------------------------------


@require_POST
@workspace_view(Role.EDITOR)
def attachment_upload(request: HttpRequest, template_id: int) -> HttpResponse:
    template = _template(request, template_id)
    form = forms.AttachmentForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, "Choose a file to attach.")
        return redirect("content:edit", template_id=template.pk)
    upload = form.cleaned_data["file"]
    try:
        services.attachment_check_size(size=upload.size or 0)  # before reading it into memory
        attachment = services.attachment_add(
            template=template, filename=upload.name or "", data=upload.read()
        )
    except ContentError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Attached {attachment.filename}.")
    return redirect("content:edit", template_id=template.pk)


@workspace_view()
def attachment_download(request: HttpRequest, template_id: int, attachment_id: int) -> HttpResponse:
    """The file as stored, always as a download: never shown inline in Postroom's origin."""
    template = _template(request, template_id)
    workspace = access_of(request).workspace
    attachment = or_404(selectors.attachment_get(workspace, template, attachment_id))
    try:
        with attachment.file.open("rb") as handle:
            data = handle.read()  # a few megabytes at most (CONTENT_ATTACHMENT_MAX_BYTES)
    except OSError as exc:
        raise Http404("The file is missing") from exc
    response = HttpResponse(data, content_type=attachment.content_type)
    disposition = content_disposition_header(True, attachment.filename)
    response["Content-Disposition"] = disposition or "attachment"
    return response


@require_POST
@workspace_view(Role.EDITOR)
def attachment_delete(request: HttpRequest, template_id: int, attachment_id: int) -> HttpResponse:
    template = _template(request, template_id)
    workspace = access_of(request).workspace
    attachment = or_404(selectors.attachment_get(workspace, template, attachment_id))
    if not is_confirmed(request):
        return confirm_page(
            request,
            title=_("Remove %(file)s?") % {"file": attachment.filename},
            losses=[
                _(
                    "The file leaves the template “%(template)s”: messages of campaigns started "
                    "from now on go without it. Campaigns already started keep their copy."
                )
                % {"template": template.name}
            ],
            action_label=_("Remove the file"),
            cancel_url=reverse("content:edit", kwargs={"template_id": template.pk}),
        )
    services.attachment_delete(attachment=attachment)
    messages.success(request, f"Removed {attachment.filename}.")
    return redirect("content:edit", template_id=template.pk)


# --- Gallery --------------------------------------------------------------------------------


@workspace_view()
def gallery_view(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        try:
            template = services.template_from_starter(
                workspace=access_of(request).workspace, key=request.POST.get("starter", "")
            )
        except ContentError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"Created “{template.name}” from the gallery.")
            return redirect("content:edit", template_id=template.pk)
    return render(request, "content/gallery.html", {"starters": gallery.STARTERS})


@xframe_options_sameorigin
@workspace_view()
def gallery_frame(request: HttpRequest) -> HttpResponse:
    """A starter (?starter=key) rendered with sample data, sandboxed like previews."""
    starter = gallery.starter(request.GET.get("starter", ""))
    if starter is None:
        raise Http404("No such starter")
    parts = TemplateParts(subject=starter.subject, html=starter.html(), text_from_html=True)
    names = placeholder_names(access_of(request).workspace)
    message = render_message(
        parts, sample_values(names), from_email="sender@example.com", to=SAMPLE_VALUES["email"]
    )
    return _sandboxed(message.html or "")
