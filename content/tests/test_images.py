"""The image library: type and size checks, scaling with Pillow, public cached addresses,
tenancy, and picking an image in an image block."""

import io

import pytest
from django.urls import reverse
from PIL import Image

from accounts.confirm import CONFIRM_FIELD
from accounts.models import Role
from accounts.tests.factories import MembershipFactory
from conftest import client_for
from content import services
from content.models import LibraryImage
from content.syntax import ContentError


def picture(fmt="PNG", width=40, height=20, color=(200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, format=fmt)
    return out.getvalue()


def upload(client, name, data):
    file = io.BytesIO(data)
    file.name = name
    return client.post(reverse("content:image_upload"), {"file": file})


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.CONTENT_IMAGE_MAX_WIDTH = 100
    settings.CONTENT_IMAGE_MAX_BYTES = 50_000


@pytest.mark.parametrize(
    ("fmt", "name"), [("PNG", "a.png"), ("JPEG", "a.jpg"), ("GIF", "a.gif"), ("WEBP", "a.webp")]
)
def test_each_image_type_is_kept_as_uploaded_when_narrow(personas, fmt, name):
    data = picture(fmt)
    image = services.image_add(workspace=personas.workspace, filename=name, data=data)
    assert (image.width, image.height) == (40, 20)
    with image.file.open("rb") as handle:
        assert handle.read() == data


def test_a_wide_image_is_scaled_down_to_the_maximum_width(personas):
    image = services.image_add(
        workspace=personas.workspace, filename="wide.jpg", data=picture("JPEG", 400, 200)
    )
    assert (image.width, image.height) == (100, 50)
    with image.file.open("rb") as handle:
        stored = Image.open(io.BytesIO(handle.read()))
        assert (stored.format, stored.size) == ("JPEG", (100, 50))


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("notes.txt", b"hello", "Only PNG, JPEG, GIF and WebP"),
        ("fake.png", b"MZ\x90\x00" + b"\x00" * 100, "Only PNG, JPEG, GIF and WebP"),
        ("a.png", picture("JPEG"), "Only PNG, JPEG, GIF and WebP"),
        ("doc.pdf", b"%PDF-1.4\n" + b"0" * 100, "Only PNG, JPEG, GIF and WebP"),
        ("cut.png", picture("PNG")[:40], "cannot be used"),
        ("empty.png", b"", "empty"),
    ],
)
def test_refused_uploads(personas, name, data, message):
    with pytest.raises(ContentError, match=message):
        services.image_add(workspace=personas.workspace, filename=name, data=data)
    assert not LibraryImage.objects.exists()


def test_an_oversized_upload_is_refused_before_it_is_read(personas, editor_client, settings):
    settings.CONTENT_IMAGE_MAX_BYTES = 100
    response = upload(editor_client, "big.png", picture("PNG", 90, 90, (1, 2, 3)) + b"\0" * 200)
    assert response.status_code == 302
    page = editor_client.get(response.url).content.decode()
    assert "An image may be at most" in page
    assert not LibraryImage.objects.exists()


def test_the_same_image_twice_is_stored_once(personas):
    data = picture()
    first = services.image_add(workspace=personas.workspace, filename="a.png", data=data)
    again = services.image_add(workspace=personas.workspace, filename="b.png", data=data)
    assert first.pk == again.pk


def test_an_upload_is_listed_and_served_with_long_cache_headers(personas, editor_client, client):
    response = upload(editor_client, "logo.png", picture())
    assert response.status_code == 302
    image = LibraryImage.objects.get()
    url = reverse(
        "content_image", kwargs={"workspace_id": personas.workspace.pk, "name": image.public_name}
    )
    assert url == f"/images/{personas.workspace.pk}/{image.digest}.png"
    assert len(image.digest) == 64
    page = editor_client.get(reverse("content:images")).content.decode()
    assert "logo.png" in page
    assert f"http://testserver{url}" in page
    served = client.get(url)  # anonymous: a recipient's mail program
    assert served.status_code == 200
    assert served["Content-Type"] == "image/png"
    assert served["Cache-Control"] == "public, max-age=31536000, immutable"
    assert b"".join(served.streaming_content) == picture()


def test_another_workspaces_image_answers_404(personas, client):
    image = services.image_add(workspace=personas.workspace, filename="a.png", data=picture())
    other = MembershipFactory.create(role=Role.OWNER)
    foreign = reverse(
        "content_image", kwargs={"workspace_id": other.workspace.pk, "name": image.public_name}
    )
    assert client.get(foreign).status_code == 404
    wrong_ext = reverse(
        "content_image",
        kwargs={"workspace_id": personas.workspace.pk, "name": f"{image.digest}.gif"},
    )
    assert client.get(wrong_ext).status_code == 404
    outsider = client_for(other.user)
    delete = reverse("content:image_delete", kwargs={"image_id": image.pk})
    assert outsider.post(delete, {CONFIRM_FIELD: "yes"}).status_code == 404
    assert LibraryImage.objects.filter(pk=image.pk).exists()


def test_a_viewer_cannot_upload_and_an_editor_deletes_after_confirming(
    personas, viewer_client, editor_client
):
    assert upload(viewer_client, "a.png", picture()).status_code == 403
    image = services.image_add(workspace=personas.workspace, filename="a.png", data=picture())
    delete = reverse("content:image_delete", kwargs={"image_id": image.pk})
    assert "stops working" in editor_client.post(delete).content.decode()
    assert LibraryImage.objects.filter(pk=image.pk).exists()
    editor_client.post(delete, {CONFIRM_FIELD: "yes"})
    assert not LibraryImage.objects.filter(pk=image.pk).exists()


def test_an_image_block_picks_from_the_library(personas, editor_client):
    image = services.image_add(workspace=personas.workspace, filename="logo.png", data=picture())
    template = services.template_create(
        workspace=personas.workspace, name="B", subject="S", format="blocks", blocks=[]
    )
    add = reverse("content:block_add", kwargs={"template_id": template.pk})
    form = editor_client.post(add, {"kind": "image"}, HTTP_HX_REQUEST="true").content.decode()
    url = f"http://testserver/images/{personas.workspace.pk}/{image.public_name}"
    assert f'<option value="{url}">logo.png</option>' in form
    edit = reverse("content:block_edit", kwargs={"template_id": template.pk, "block": 0})
    editor_client.post(edit, {"library": url, "src": "", "alt": "Logo"}, HTTP_HX_REQUEST="true")
    template.refresh_from_db()
    assert template.blocks[0]["src"] == url
    assert f'src="{url}"' in template.html_body
