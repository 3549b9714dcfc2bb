"""The template pages through HTTP: editing, refusals with line and name, roles, previews."""

import re
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audience.models import CustomField
from audience.tests.factories import RecipientFactory
from content.models import Template, TemplateAttachment
from content.tests.factories import TemplateFactory
from content.views import PREVIEW_CSP

PDF = b"%PDF-1.4\n" + b"0" * 100


def form_data(**overrides):
    data = {
        "name": "Welcome",
        "subject": "Hello {first_name|there}",
        "html_body": "<style>p { color: red }</style><p>Hi {first_name}</p>",
        "text_body": "Hi {first_name}",
    }
    return {**data, **overrides}


def test_create_then_edit(personas, editor_client):
    response = editor_client.post(reverse("content:create"), form_data())
    template = Template.objects.get(workspace=personas.workspace)
    assert response.url == reverse("content:edit", kwargs={"template_id": template.pk})
    response = editor_client.post(response.url, form_data(subject="New {company}"))
    assert response.status_code == 302
    template.refresh_from_db()
    assert template.subject == "New {company}"


def test_custom_fields_may_be_used(personas, editor_client):
    CustomField.objects.create(workspace=personas.workspace, key="plan", label="Plan")
    editor_client.post(reverse("content:create"), form_data(text_body="Your plan: {plan}"))
    assert Template.objects.filter(text_body="Your plan: {plan}").exists()


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("html_body", "<p>\n\n{shoe_size}</p>", "HTML, line 3: {shoe_size} is not a field"),
        ("text_body", "ok\n{first_name|there", "text, line 2: {first_name|… is not closed"),
        ("subject", "{if company}x", "subject, line 1: {if company} is never closed"),
    ],
)
def test_save_is_refused_with_the_line_and_the_name(
    personas, editor_client, field, value, expected
):
    response = editor_client.post(reverse("content:create"), form_data(**{field: value}))
    assert response.status_code == 200
    assert expected in response.content.decode()
    assert not Template.objects.exists()


def test_every_faulty_part_is_reported_at_once(personas, editor_client):
    data = form_data(subject="Hi {nickname}", html_body="<p>\n{first_name|there</p>")
    body = editor_client.post(reverse("content:create"), data).content.decode()
    assert "subject, line 1: {nickname} is not a field of this workspace" in body
    assert "HTML, line 2: {first_name|… is not closed" in body


def test_a_template_needs_a_body(personas, editor_client):
    response = editor_client.post(reverse("content:create"), form_data(html_body="", text_body=""))
    assert "Write an HTML body, a text body or both." in response.content.decode()
    assert not Template.objects.exists()


def test_generate_text_from_html_fills_the_form_without_saving(personas, editor_client):
    response = editor_client.post(
        reverse("content:create"),
        form_data(html_body="<h1>Hello {first_name}</h1>", text_body="", action="generate_text"),
    )
    assert response.status_code == 200
    assert "Hello {first_name}" in response.context["form"].data["text_body"]
    assert not Template.objects.exists()


def test_the_editor_offers_the_placeholder_names(personas, editor_client):
    CustomField.objects.create(workspace=personas.workspace, key="free_field1", label="Free 1")
    response = editor_client.get(reverse("content:create"))
    body = response.content.decode()
    assert 'id="placeholder-names"' in body
    assert "free_field1" in body
    assert "unsubscribe_url" in body
    assert "js/placeholders.js" in body
    assert "How personalisation works" in body


def test_viewers_read_but_cannot_change(personas, viewer_client):
    template = TemplateFactory.create(workspace=personas.workspace)
    edit = reverse("content:edit", kwargs={"template_id": template.pk})
    assert viewer_client.get(edit).status_code == 200
    assert viewer_client.get(reverse("content:index")).status_code == 200
    assert viewer_client.post(edit, form_data()).status_code == 403
    assert viewer_client.post(reverse("content:create"), form_data()).status_code == 403
    duplicate = reverse("content:duplicate", kwargs={"template_id": template.pk})
    assert viewer_client.post(duplicate).status_code == 403
    assert viewer_client.post(reverse("content:gallery"), {"starter": "letter"}).status_code == 403


def test_duplicate_copies_attachments_and_delete_removes_files(
    personas, editor_client, django_capture_on_commit_callbacks
):
    template = TemplateFactory.create(workspace=personas.workspace, name="Offer")
    upload = reverse("content:attachment_upload", kwargs={"template_id": template.pk})
    with open_pdf() as handle:
        editor_client.post(upload, {"file": handle})
    response = editor_client.post(reverse("content:duplicate", kwargs={"template_id": template.pk}))
    copy = Template.objects.get(name="Offer (copy)")
    assert response.url == reverse("content:edit", kwargs={"template_id": copy.pk})
    [original_file] = template.attachments.all()
    [copied_file] = copy.attachments.all()
    assert copied_file.file.name != original_file.file.name
    assert copied_file.file.read() == PDF
    path = Path(original_file.file.path)
    assert path.exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = editor_client.post(
            reverse("content:delete", kwargs={"template_id": template.pk})
        )
    assert response.url == reverse("content:index")
    assert not path.exists()
    assert Path(copied_file.file.path).exists()


def open_pdf():
    import io

    handle = io.BytesIO(PDF)
    handle.name = "offer.pdf"
    return _Closing(handle)


class _Closing:
    def __init__(self, handle):
        self.handle = handle

    def __enter__(self):
        return self.handle

    def __exit__(self, *exc):
        self.handle.close()


def test_attachment_types_are_sniffed_not_trusted(personas, editor_client, settings):
    import io

    template = TemplateFactory.create(workspace=personas.workspace)
    upload = reverse("content:attachment_upload", kwargs={"template_id": template.pk})
    fake = io.BytesIO(b"MZ\x90\x00 an executable")
    fake.name = "invoice.pdf"
    response = editor_client.post(upload, {"file": fake}, follow=True)
    assert "does not match its name" in response.content.decode()
    script = io.BytesIO(b"echo hi")
    script.name = "run.sh"
    editor_client.post(upload, {"file": script})
    assert not TemplateAttachment.objects.exists()
    settings.CONTENT_ATTACHMENT_MAX_BYTES = 50
    with open_pdf() as handle:
        response = editor_client.post(upload, {"file": handle}, follow=True)
    assert "at most" in response.content.decode()
    assert not TemplateAttachment.objects.exists()


def test_attachments_are_limited_per_message(personas, editor_client, settings):
    settings.CONTENT_ATTACHMENTS_TOTAL_MAX_BYTES = len(PDF) + 10
    template = TemplateFactory.create(workspace=personas.workspace)
    upload = reverse("content:attachment_upload", kwargs={"template_id": template.pk})
    with open_pdf() as handle:
        editor_client.post(upload, {"file": handle})
    with open_pdf() as handle:
        response = editor_client.post(upload, {"file": handle}, follow=True)
    assert "files of one message" in response.content.decode()
    assert template.attachments.count() == 1
    attachment = template.attachments.get()
    assert attachment.content_type == "application/pdf"
    download = reverse(
        "content:attachment_download",
        kwargs={"template_id": template.pk, "attachment_id": attachment.pk},
    )
    response = editor_client.get(download)
    assert response["Content-Disposition"] == 'attachment; filename="offer.pdf"'
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content) == PDF
    remove = reverse(
        "content:attachment_delete",
        kwargs={"template_id": template.pk, "attachment_id": attachment.pk},
    )
    editor_client.post(remove, {"confirmed": "yes"})
    assert not template.attachments.exists()


def test_gallery_creates_a_copy_in_the_workspace(personas, editor_client):
    assert "Use this template" in editor_client.get(reverse("content:gallery")).content.decode()
    for key in ("letter", "newsletter", "announcement"):
        response = editor_client.post(reverse("content:gallery"), {"starter": key})
        assert response.status_code == 302
    assert Template.objects.filter(workspace=personas.workspace).count() == 3
    response = editor_client.post(reverse("content:gallery"), {"starter": "nope"})
    assert response.status_code == 200


def test_gallery_previews_are_sandboxed(personas, viewer_client):
    frame = viewer_client.get(reverse("content:gallery_frame"), {"starter": "announcement"})
    assert frame["Content-Security-Policy"] == PREVIEW_CSP
    assert "Alex, we have just launched" in frame.content.decode()
    assert viewer_client.get(reverse("content:gallery_frame"), {"starter": "x"}).status_code == 404


def test_preview_as_a_recipient_and_with_sample_data(personas, viewer_client):
    template = TemplateFactory.create(
        workspace=personas.workspace,
        subject="For {first_name}",
        html_body="<p>Hello {first_name} of {company}</p><script>alert(1)</script>",
    )
    recipient = RecipientFactory.create(
        workspace=personas.workspace, email="ann@example.org", first_name="Ann", company="A&B"
    )
    preview = reverse("content:preview", kwargs={"template_id": template.pk})
    page = viewer_client.get(preview, {"recipient": recipient.pk, "width": "phone"})
    body = page.content.decode()
    assert "For Ann" in body
    assert "ann@example.org" in body
    assert "w-[375px]" in body
    assert 'sandbox=""' in body
    frame_url = reverse("content:preview_frame", kwargs={"template_id": template.pk})
    frame = viewer_client.get(frame_url, {"recipient": recipient.pk})
    assert frame["Content-Security-Policy"] == PREVIEW_CSP
    assert frame["X-Frame-Options"] == "SAMEORIGIN"
    assert frame.content.decode().startswith("<p>Hello Ann of A&amp;B</p>")
    sample = viewer_client.get(frame_url)
    assert "Hello Alex of Sample &amp; Co" in sample.content.decode()


def test_preview_of_another_workspaces_recipient_is_404(personas, owner_client):
    template = TemplateFactory.create(workspace=personas.workspace)
    stranger = RecipientFactory.create(workspace=personas.other_workspace, email="x@example.org")
    frame_url = reverse("content:preview_frame", kwargs={"template_id": template.pk})
    assert owner_client.get(frame_url, {"recipient": stranger.pk}).status_code == 404
    preview = reverse("content:preview", kwargs={"template_id": template.pk})
    assert owner_client.get(preview, {"recipient": stranger.pk}).status_code == 404


def test_preview_by_address(personas, viewer_client):
    template = TemplateFactory.create(workspace=personas.workspace)
    RecipientFactory.create(workspace=personas.workspace, email="bo@example.org", first_name="Bo")
    RecipientFactory.create(workspace=personas.other_workspace, email="zed@example.org")
    preview = reverse("content:preview", kwargs={"template_id": template.pk})
    with CaptureQueriesContext(connection) as queries:
        shown = viewer_client.get(preview, {"email": "BO@example.org"}).content.decode()
    assert "Hello Bo" in shown
    # Found by equality on the (workspace, email) index: recipients are stored lowercased.
    folded = [q["sql"] for q in queries if re.search(r"UPPER\(| LIKE ", q["sql"], re.I)]
    assert not folded, folded
    other = viewer_client.get(preview, {"email": "zed@example.org"}).content.decode()
    assert "There is no recipient zed@example.org in this workspace." in other
    frame_url = reverse("content:preview_frame", kwargs={"template_id": template.pk})
    frame = viewer_client.get(frame_url, {"email": "<b>x@example.org"}).content.decode()
    assert "&lt;b&gt;x@example.org" in frame


def test_test_send_addresses_are_parsed_and_limited():
    from content.forms import TestSendForm

    form = TestSendForm({"addresses": "a@example.org, b@example.org\na@example.org"})
    assert form.is_valid()
    assert form.cleaned_data["addresses"] == ["a@example.org", "b@example.org"]
    many = ",".join(f"p{i}@example.org" for i in range(11))
    assert "at most 10" in str(TestSendForm({"addresses": many}).errors)
    assert "Not an e-mail address: nope" in str(TestSendForm({"addresses": "nope"}).errors)
