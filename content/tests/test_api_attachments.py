"""/api/templates/{template_id}/attachments/: multipart uploads with the UI's limits."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from content.models import TemplateAttachment
from content.tests.factories import TemplateFactory

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n" + b"0" * 100


def url(template_id: int, attachment_id: int | None = None, tail: str = "") -> str:
    base = f"/api/templates/{template_id}/attachments/"
    return f"{base}{attachment_id}/{tail}" if attachment_id else base


def upload(client, template_id: int, name: str, data: bytes):
    return client.post(
        url(template_id), {"file": SimpleUploadedFile(name, data)}, format="multipart"
    )


def test_upload_list_download_and_delete(personas, api_for):
    template = TemplateFactory.create(workspace=personas.workspace)
    client = api_for("editor")
    response = upload(client, template.pk, "offer.pdf", PDF)
    assert response.status_code == 201
    created = response.json()
    assert (created["filename"], created["content_type"], created["size"]) == (
        "offer.pdf",
        "application/pdf",
        len(PDF),
    )
    assert [a["id"] for a in client.get(url(template.pk)).json()] == [created["id"]]
    assert client.get(f"/api/templates/{template.pk}/").json()["attachment_count"] == 1
    download = client.get(url(template.pk, created["id"], "download/"))
    assert download.status_code == 200
    assert download["Content-Disposition"] == 'attachment; filename="offer.pdf"'
    assert download.streaming  # from the storage in blocks, not read whole into memory
    assert download["Content-Length"] == str(len(PDF))
    assert b"".join(download.streaming_content) == PDF
    assert client.delete(url(template.pk, created["id"])).status_code == 204
    assert not TemplateAttachment.objects.exists()


@pytest.mark.parametrize(
    ("name", "data", "words"),
    [
        ("empty.txt", b"", "The file is empty."),
        ("big.txt", b"x" * 65, "A file may be at most"),
        ("invoice.pdf", b"MZ\x90\x00 not a pdf", "does not match its name"),
        ("run.exe", b"MZ\x90\x00", "cannot be attached"),
    ],
)
def test_the_uis_refusals_are_400s_on_the_file(personas, api_for, settings, name, data, words):
    settings.CONTENT_ATTACHMENT_MAX_BYTES = 64
    template = TemplateFactory.create(workspace=personas.workspace)
    response = upload(api_for("editor"), template.pk, name, data)
    assert response.status_code == 400
    messages = [e["message"] for e in response.json()["error"]["fields"]["file"]]
    assert any(words in m for m in messages), messages
    assert not TemplateAttachment.objects.exists()


def test_the_files_of_one_message_are_limited_together(personas, api_for, settings):
    settings.CONTENT_ATTACHMENTS_TOTAL_MAX_BYTES = len(PDF) + 10
    template = TemplateFactory.create(workspace=personas.workspace)
    client = api_for("editor")
    assert upload(client, template.pk, "a.pdf", PDF).status_code == 201
    second = upload(client, template.pk, "b.pdf", PDF)
    assert second.status_code == 400
    assert "files of one message" in second.json()["error"]["fields"]["file"][0]["message"]


def test_no_file_is_a_400(personas, api_for):
    template = TemplateFactory.create(workspace=personas.workspace)
    response = api_for("editor").post(url(template.pk), {}, format="multipart")
    assert response.status_code == 400
    assert "file" in response.json()["error"]["fields"]


def test_viewers_read_but_do_not_write(personas, api_for):
    template = TemplateFactory.create(workspace=personas.workspace)
    created = upload(api_for("editor"), template.pk, "a.pdf", PDF).json()
    viewer = api_for("viewer")
    assert viewer.get(url(template.pk)).status_code == 200
    assert upload(viewer, template.pk, "b.pdf", PDF).status_code == 403
    assert viewer.delete(url(template.pk, created["id"])).status_code == 403
    assert TemplateAttachment.objects.count() == 1


def test_another_workspaces_template_and_files_are_404(personas, api_for):
    theirs = TemplateFactory.create(workspace=personas.other_workspace)
    mine = TemplateFactory.create(workspace=personas.workspace)
    their_file = upload(api_for("editor"), mine.pk, "a.pdf", PDF).json()
    TemplateAttachment.objects.filter(pk=their_file["id"]).update(template=theirs)
    client = api_for("owner")
    assert client.get(url(theirs.pk)).status_code == 404
    assert upload(client, theirs.pk, "b.pdf", PDF).status_code == 404
    # Their file under my template's id is not mine either.
    assert client.get(url(mine.pk, their_file["id"])).status_code == 404
    assert client.delete(url(mine.pk, their_file["id"])).status_code == 404
    assert TemplateAttachment.objects.filter(template=theirs).count() == 1


def test_a_download_streams_a_file_whose_name_needs_encoding(personas, api_for, editor_client):
    template = TemplateFactory.create(workspace=personas.workspace)
    created = upload(api_for("editor"), template.pk, "Счёт №1.pdf", PDF).json()
    page = reverse(
        "content:attachment_download",
        kwargs={"template_id": template.pk, "attachment_id": created["id"]},
    )
    for response in (api_for("viewer").get(url(template.pk, created["id"], "download/")),
                     editor_client.get(page)):  # fmt: skip
        assert response.status_code == 200
        assert response.streaming
        assert response["Content-Disposition"] == (
            "attachment; filename*=utf-8''%D0%A1%D1%87%D1%91%D1%82%20%E2%84%961.pdf"
        )
        assert b"".join(response.streaming_content) == PDF


def test_a_missing_file_is_a_404_on_the_page_and_in_the_api(personas, api_for, editor_client):
    template = TemplateFactory.create(workspace=personas.workspace)
    created = upload(api_for("editor"), template.pk, "offer.pdf", PDF).json()
    attachment = TemplateAttachment.objects.get(pk=created["id"])
    attachment.file.storage.delete(attachment.file.name)
    page = reverse(
        "content:attachment_download",
        kwargs={"template_id": template.pk, "attachment_id": attachment.pk},
    )
    assert editor_client.get(page).status_code == 404
    assert api_for("viewer").get(url(template.pk, attachment.pk, "download/")).status_code == 404
