"""Pages for templates: list, editor, preview, attachments and the starter gallery.

The preview HTML is served by its own view (`preview_frame`) with a Content-Security-Policy
that forbids scripts, plugins and every network access but images, and the `sandbox`
directive; the page shows it in `<iframe sandbox>`. Either alone keeps a template's script
from running in Postroom's origin; both together survive a browser that ignores one.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.forms import ModelForm
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_POST

from accounts.access import access_of, or_404, workspace_view
from accounts.confirm import confirm_page, is_confirmed
from accounts.models import Role
from audience.selectors import placeholder_names, recipient_values
from content import blocks, forms, gallery, selectors, services
from content.downloads import attachment_response
from content.message import RenderedMessage
from content.mjml_compile import mjml_to_html
from content.models import LibraryImage, Template
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


def _editor_context(
    request: HttpRequest, form: ModelForm[Template], **extra: Any
) -> dict[str, Any]:
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


def _save_error(form: ModelForm[Template], error: TemplateSyntaxError) -> None:
    for each in error.errors if isinstance(error, TemplateErrors) else [error]:
        form.add_error(forms.FIELD_OF_PART.get(each.part, None), str(each))


def _generate_text(request: HttpRequest, form: ModelForm[Template]) -> Any:
    """The editor's "Generate text from HTML": fill the text body, save nothing yet."""
    data = request.POST.copy()
    source = data.get("html_body", "")
    if "mjml_body" in form.fields:
        try:
            source = mjml_to_html(data.get("mjml_body", ""))
        except TemplateSyntaxError as exc:
            messages.error(request, str(exc))
            return type(form)(data, instance=form.instance)
    elif isinstance(form, forms.BlocksTemplateForm):
        source = form.instance.html_body
    data["text_body"] = html_to_text(source) if source else ""
    messages.info(request, _("The text body was generated from the HTML. Review it, then save."))
    return type(form)(data, instance=form.instance)


def _format_of(request: HttpRequest) -> str:
    wanted = request.POST.get("format") or request.GET.get("format") or Template.Format.HTML
    return wanted if wanted in Template.Format.values else Template.Format.HTML


@workspace_view(Role.EDITOR)
def create(request: HttpRequest) -> HttpResponse:
    template_format = _format_of(request)
    form = forms.FORM_OF_FORMAT[template_format](request.POST or None)
    if request.method == "POST" and request.POST.get("action") == "generate_text":
        form = _generate_text(request, form)
    elif request.method == "POST" and form.is_valid():
        try:
            template = services.template_create(
                workspace=access_of(request).workspace,
                format=template_format,
                blocks=_starting_blocks() if template_format == Template.Format.BLOCKS else [],
                **form.cleaned_data,
            )
        except TemplateSyntaxError as exc:
            _save_error(form, exc)
        else:
            messages.success(request, _("Template “%(name)s” created.") % {"name": template.name})
            return redirect("content:edit", template_id=template.pk)
    context = _editor_context(request, form, template_format=template_format)
    return render(request, "content/template_form.html", context)


def _starting_blocks() -> list[blocks.Block]:
    """A new block message: a text to replace and the footer every campaign needs."""
    return [
        blocks.new_block("text", text=_("Hello {first_name|there},")),
        blocks.new_block(
            "footer", unsubscribe_label=_("Unsubscribe"), preferences_label=_("Preferences")
        ),
    ]


@workspace_view()
def edit(request: HttpRequest, template_id: int) -> HttpResponse:
    template = _template(request, template_id)
    form = forms.FORM_OF_FORMAT[template.format](request.POST or None, instance=template)
    if request.method == "POST" and request.POST.get("action") == "generate_text":
        form = _generate_text(request, form)
    elif request.method == "POST" and form.is_valid():
        try:
            services.template_update(template=template, **_update_values(template, form))
        except TemplateSyntaxError as exc:
            _save_error(form, exc)
        else:
            messages.success(request, _("Template saved."))
            return redirect("content:edit", template_id=template.pk)
    context = _editor_context(
        request,
        form,
        template=template,
        template_format=template.format,
        attachments=template.attachments.all(),
        warnings=_warnings(template) if request.method == "GET" else [],
        **(_block_context(template) if template.format == Template.Format.BLOCKS else {}),
    )
    return render(request, "content/template_form.html", context)


def _update_values(template: Template, form: ModelForm[Template]) -> dict[str, Any]:
    # The form holds the fields of the template's format; the HTML of the others is compiled.
    values: dict[str, Any] = {"html_body": template.html_body, **form.cleaned_data}
    return values


@require_POST
@workspace_view(Role.EDITOR)
def duplicate(request: HttpRequest, template_id: int) -> HttpResponse:
    copy = services.template_duplicate(template=_template(request, template_id))
    messages.success(request, _("Created “%(name)s”.") % {"name": copy.name})
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
        messages.success(request, _("Template “%(name)s” deleted.") % {"name": template.name})
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
        raise ContentError(
            _("There is no recipient %(email)s in this workspace.") % {"email": email.strip()}
        )
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
        messages.error(request, _("No preview: %(error)s") % {"error": exc})
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
        messages.error(request, _("Choose a file to attach."))
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
        messages.success(request, _("Attached %(name)s.") % {"name": attachment.filename})
    return redirect("content:edit", template_id=template.pk)


@workspace_view()
def attachment_download(request: HttpRequest, template_id: int, attachment_id: int) -> FileResponse:
    """The file as stored, always as a download: never shown inline in Postroom's origin."""
    template = _template(request, template_id)
    workspace = access_of(request).workspace
    attachment = or_404(selectors.attachment_get(workspace, template, attachment_id))
    return attachment_response(attachment)


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
    messages.success(request, _("Removed %(name)s.") % {"name": attachment.filename})
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
            messages.success(
                request, _("Created “%(name)s” from the gallery.") % {"name": template.name}
            )
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


# --- The block editor -----------------------------------------------------------------------
# Each action saves at once and answers with the block list (to htmx) or the editor page
# (without JavaScript), so every step works by keyboard and without scripts.


def _block_context(template: Template, **extra: Any) -> dict[str, Any]:
    items = [
        {"index": i, "block": b, "label": blocks.KINDS[b["type"]][0], "summary": _summary(b)}
        for i, b in enumerate(template.blocks)
        if b.get("type") in blocks.KINDS
    ]
    kinds = [(key, label) for key, (label, _fields) in blocks.KINDS.items()]
    return {"block_items": items, "block_kinds": kinds, **extra}


def _summary(block: dict[str, str]) -> str:
    """A line that tells blocks apart in the list; plain text, escaped by the template."""
    for key in ("text", "label", "column_1", "alt", "src", "facebook", "unsubscribe_label"):
        if block.get(key):
            line = block[key].strip().splitlines()[0]
            return line[:80] + ("…" if len(line) > 80 else "")
    return ""


def _blocks_answer(
    request: HttpRequest, template: Template, status: int = 200, **extra: Any
) -> HttpResponse:
    if not request.headers.get("HX-Request"):
        return redirect(reverse("content:edit", kwargs={"template_id": template.pk}) + "#blocks")
    context = {"template": template, **_block_context(template, can_edit=True, **extra)}
    return render(request, "content/_blocks.html", context, status=status)


def _block_error(request: HttpRequest, template: Template, exc: ContentError) -> HttpResponse:
    if not request.headers.get("HX-Request"):
        messages.error(request, str(exc))
    return _blocks_answer(request, template, status=422, error=str(exc))


@require_POST
@workspace_view(Role.EDITOR)
def block_add(request: HttpRequest, template_id: int) -> HttpResponse:
    template = _template(request, template_id)
    kind = request.POST.get("kind", "")
    values = {}
    if kind == "footer":
        values = {"unsubscribe_label": _("Unsubscribe"), "preferences_label": _("Preferences")}
    try:
        index = services.block_add(template=template, kind=kind, values=values)
    except ContentError as exc:
        return _block_error(request, template, exc)
    form = forms.BlockForm(kind, initial=template.blocks[index], library=_library(request))
    return _blocks_answer(request, template, editing=index, block_form=form)


@workspace_view(Role.EDITOR)
def block_edit(request: HttpRequest, template_id: int, block: int) -> HttpResponse:
    """GET: the block list with this block's form open. POST: save the block."""
    template = _template(request, template_id)
    if template.format != Template.Format.BLOCKS or not 0 <= block < len(template.blocks):
        raise Http404("No such block")
    kind = template.blocks[block]["type"]
    if request.method != "POST":
        form = forms.BlockForm(kind, initial=template.blocks[block], library=_library(request))
        if not request.headers.get("HX-Request"):
            context = _editor_context(
                request,
                forms.BlocksTemplateForm(instance=template),
                template=template,
                template_format=template.format,
                attachments=template.attachments.all(),
                **_block_context(template, editing=block, block_form=form),
            )
            return render(request, "content/template_form.html", context)
        return _blocks_answer(request, template, editing=block, block_form=form)
    form = forms.BlockForm(kind, request.POST, library=_library(request))
    if form.is_valid():
        try:
            services.block_update(template=template, index=block, block=form.block)
        except TemplateSyntaxError as exc:
            form.add_error(None, exc.message)
        else:
            return _blocks_answer(request, template, saved=block)
    return _blocks_answer(request, template, status=422, editing=block, block_form=form)


@require_POST
@workspace_view(Role.EDITOR)
def block_move(request: HttpRequest, template_id: int, block: int) -> HttpResponse:
    template = _template(request, template_id)
    step = -1 if request.POST.get("direction") == "up" else 1
    try:
        services.block_move(template=template, index=block, step=step)
    except ContentError as exc:
        return _block_error(request, template, exc)
    return _blocks_answer(
        request, template, moved=max(0, min(block + step, len(template.blocks) - 1))
    )


@require_POST
@workspace_view(Role.EDITOR)
def block_delete(request: HttpRequest, template_id: int, block: int) -> HttpResponse:
    template = _template(request, template_id)
    try:
        services.block_delete(template=template, index=block)
    except ContentError as exc:
        return _block_error(request, template, exc)
    return _blocks_answer(request, template)


@require_POST
@workspace_view(Role.EDITOR)
def to_code(request: HttpRequest, template_id: int) -> HttpResponse:
    template = _template(request, template_id)
    if not is_confirmed(request):
        return confirm_page(
            request,
            title=_("Edit “%(name)s” as MJML code?") % {"name": template.name},
            losses=[
                _(
                    "The blocks become MJML code that you edit as text. The block editor is "
                    "gone for this template: code cannot be turned back into blocks."
                )
            ],
            action_label=_("Switch to MJML code"),
            cancel_url=reverse("content:edit", kwargs={"template_id": template.pk}),
        )
    try:
        services.template_to_code(template=template)
    except ContentError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("This template is now edited as MJML code."))
    return redirect("content:edit", template_id=template.pk)


# --- The image library ----------------------------------------------------------------------


def image_url(request: HttpRequest, image: LibraryImage) -> str:
    """The image's absolute public address, as messages must carry it."""
    path = reverse(
        "content_image", kwargs={"workspace_id": image.workspace_id, "name": image.public_name}
    )
    return f"{settings.SITE_URL}{path}" if settings.SITE_URL else request.build_absolute_uri(path)


def _library(request: HttpRequest) -> list[tuple[str, str]]:
    workspace = access_of(request).workspace
    return [(image_url(request, i), i.name) for i in selectors.images(workspace)[:200]]


@workspace_view()
def image_index(request: HttpRequest) -> HttpResponse:
    """The workspace's images, with their addresses, and (editors) the upload form."""
    workspace = access_of(request).workspace
    shown = [(i, image_url(request, i)) for i in selectors.images(workspace)]
    context = {"images": shown, "max_width": settings.CONTENT_IMAGE_MAX_WIDTH}
    return render(request, "content/images.html", context)


@require_POST
@workspace_view(Role.EDITOR)
def image_upload(request: HttpRequest) -> HttpResponse:
    form = forms.ImageForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("Choose an image to add."))
        return redirect("content:images")
    upload = form.cleaned_data["file"]
    try:
        services.image_check_size(size=upload.size or 0)  # before reading it into memory
        image = services.image_add(
            workspace=access_of(request).workspace, filename=upload.name or "", data=upload.read()
        )
    except ContentError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Added %(name)s.") % {"name": image.name})
    return redirect("content:images")


@require_POST
@workspace_view(Role.EDITOR)
def image_delete(request: HttpRequest, image_id: int) -> HttpResponse:
    image = or_404(selectors.image_get(access_of(request).workspace, image_id))
    if not is_confirmed(request):
        return confirm_page(
            request,
            title=_("Delete %(name)s?") % {"name": image.name},
            losses=[
                _(
                    "Its address stops working: messages already sent and templates that show "
                    "it will show a broken image."
                )
            ],
            action_label=_("Delete the image"),
            cancel_url=reverse("content:images"),
        )
    services.image_delete(image=image)
    messages.success(request, _("Deleted %(name)s.") % {"name": image.name})
    return redirect("content:images")


def image_file(request: HttpRequest, workspace_id: int, name: str) -> FileResponse:
    """A library image for anyone (recipients' mail programs): cached for a year, since its
    name is the hash of its content. 404 for any other workspace's id."""
    image = selectors.image_published(workspace_id, name)
    if image is None:
        raise Http404("No such image")
    try:
        handle = image.file.open("rb")
    except OSError as exc:
        raise Http404("The file is missing.") from exc
    response = FileResponse(handle, content_type=image.content_type)
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response
