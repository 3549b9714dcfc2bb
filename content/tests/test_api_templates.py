"""/api/templates/: checked as the editor checks them, previews, duplicates, the gallery."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.tests.factories import PASSWORD
from audience.models import CustomField
from audience.tests.factories import RecipientFactory
from content.models import Template
from content.tests.factories import TemplateFactory

pytestmark = pytest.mark.django_db

URL = "/api/templates/"


def body(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "name": "Welcome",
        "subject": "Hello {first_name|there}",
        "html_body": "<style>p { color: red }</style><p>Hi {first_name}</p>",
        "text_body": "Hi {first_name}",
    }
    return {**data, **overrides}


def test_an_editor_creates_a_template(personas, api_for):
    response = api_for("editor").post(URL, body())
    assert response.status_code == 201
    created = response.json()
    template = Template.objects.get(pk=created["id"], workspace=personas.workspace)
    assert template.subject == created["subject"] == "Hello {first_name|there}"
    assert created["html_body"] == template.html_body
    assert (created["attachment_count"], created["attachments"]) == (0, [])


@pytest.mark.parametrize(
    ("field", "value", "part", "line", "words"),
    [
        ("html_body", "<p>\n\n{shoe_size}</p>", "HTML", 3, "{shoe_size} is not a field"),
        ("text_body", "ok\n{first_name|there", "text", 2, "{first_name|… is not closed"),
        ("subject", "{if company}x", "subject", 1, "{if company} is never closed"),
    ],
)
def test_a_broken_template_is_a_400_with_the_line_and_nothing_is_saved(
    personas, api_for, field, value, part, line, words
):
    response = api_for("editor").post(URL, body(**{field: value}))
    assert response.status_code == 400
    error = response.json()["error"]
    [message] = error["fields"][field]
    assert message["code"] == "template_syntax"
    assert message["message"].startswith(f"{part}, line {line}: ")
    assert words in message["message"]
    [fault] = error["template_errors"]
    assert (fault["part"], fault["field"], fault["line"]) == (part, field, line)
    assert not Template.objects.exists()


def test_every_faulty_part_is_reported(api_for):
    response = api_for("editor").post(
        URL, body(subject="Hi {nickname}", html_body="<p>\n{first_name|there</p>")
    )
    faults = response.json()["error"]["template_errors"]
    assert [(f["field"], f["line"], f["name"]) for f in faults] == [
        ("subject", 1, "nickname"),
        ("html_body", 2, "first_name"),
    ]


def test_a_custom_field_of_the_workspace_may_be_used(personas, api_for):
    CustomField.objects.create(workspace=personas.workspace, key="plan", label="Plan")
    assert api_for("editor").post(URL, body(text_body="Plan: {plan}")).status_code == 201


def test_a_patch_changes_only_what_it_names(personas, api_for):
    template = TemplateFactory.create(workspace=personas.workspace, name="Before")
    response = api_for("editor").patch(f"{URL}{template.pk}/", {"subject": "New {company}"})
    assert response.status_code == 200
    template.refresh_from_db()
    assert (template.name, template.subject) == ("Before", "New {company}")
    assert template.html_body == "<p>Hello {first_name|there}</p>"


def test_a_broken_change_leaves_the_stored_template_alone(personas, api_for):
    template = TemplateFactory.create(workspace=personas.workspace)
    response = api_for("owner").put(
        f"{URL}{template.pk}/", body(html_body="<p>{if first_name}</p>")
    )
    assert response.status_code == 400
    assert response.json()["error"]["template_errors"][0]["field"] == "html_body"
    template.refresh_from_db()
    assert template.name != "Welcome"
    assert template.html_body == "<p>Hello {first_name|there}</p>"


def test_a_template_with_nothing_to_send_is_refused(api_for):
    response = api_for("editor").post(URL, body(html_body="", text_body="", text_from_html=True))
    assert response.status_code == 400
    assert "Write an HTML body" in response.json()["error"]["template_errors"][0]["message"]


def test_the_list_has_no_bodies_and_can_search_and_order(personas, api_for):
    TemplateFactory.create(workspace=personas.workspace, name="Spring sale")
    TemplateFactory.create(workspace=personas.workspace, name="Autumn news")
    TemplateFactory.create(workspace=personas.other_workspace, name="Spring elsewhere")
    client = api_for("viewer")
    page = client.get(URL, {"ordering": "name"}).json()
    assert page["count"] == 2
    assert [t["name"] for t in page["results"]] == ["Autumn news", "Spring sale"]
    assert "html_body" not in page["results"][0]
    found = client.get(URL, {"search": "spring"}).json()["results"]
    assert [t["name"] for t in found] == ["Spring sale"]
    bad = client.get(URL, {"ordering": "password"})
    assert bad.status_code == 400
    assert "ordering" in bad.json()["error"]["fields"]


def test_duplicate_and_delete(personas, api_for):
    template = TemplateFactory.create(workspace=personas.workspace, name="Letter")
    client = api_for("editor")
    copy = client.post(f"{URL}{template.pk}/duplicate/")
    assert copy.status_code == 201
    assert copy.json()["name"] == "Letter (copy)"
    assert copy.json()["html_body"] == template.html_body
    assert client.delete(f"{URL}{template.pk}/").status_code == 204
    assert list(Template.objects.values_list("name", flat=True)) == ["Letter (copy)"]


def test_check_validates_without_saving(api_for):
    client = api_for("viewer")  # checking changes nothing, so viewers may
    ok = client.post(f"{URL}check/", {"subject": "Hi {first_name}", "text_body": "Hello"})
    assert ok.status_code == 200
    assert ok.json() == {"valid": True, "errors": [], "warnings": []}
    broken = client.post(f"{URL}check/", {"subject": "Hi", "html_body": "a\nb\n{if x}"})
    assert broken.status_code == 200
    [fault] = broken.json()["errors"]
    assert (fault["field"], fault["line"]) == ("html_body", 3)
    assert client.post(f"{URL}check/", {}).status_code == 400  # no subject: not a request
    assert not Template.objects.exists()


def test_preview_with_samples_a_recipient_or_given_values(personas, api_for):
    template = TemplateFactory.create(
        workspace=personas.workspace,
        subject="Hello {first_name|there}",
        html_body="<p>Hi {first_name} from {city}</p>",
        text_body="Hi {first_name} from {city}",
    )
    ada = RecipientFactory.create(
        workspace=personas.workspace, email="ada@example.test", first_name="Ada", city="<Leeds>"
    )
    client = api_for("viewer")
    url = f"{URL}{template.pk}/preview/"
    sample = client.post(url, {}).json()
    assert sample == {
        "subject": "Hello Alex",
        "html": "<p>Hi Alex from Lisbon</p>",
        "text": "Hi Alex from Lisbon",
        "recipient_id": None,
    }
    theirs = client.post(url, {"recipient_id": ada.pk}).json()
    assert theirs["subject"] == "Hello Ada"
    assert theirs["html"] == "<p>Hi Ada from &lt;Leeds&gt;</p>"  # escaped in HTML only
    assert theirs["text"] == "Hi Ada from <Leeds>"
    assert theirs["recipient_id"] == ada.pk
    by_email = client.post(url, {"email": "ADA@example.test"}).json()
    assert by_email["recipient_id"] == ada.pk
    given = client.post(url, {"values": {"first_name": "Zoë", "city": "Porto"}}, format="json")
    assert given.json()["text"] == "Hi Zoë from Porto"


def test_preview_errors_are_400s_that_say_why(personas, api_for, settings):
    template = TemplateFactory.create(workspace=personas.workspace)
    foreign = RecipientFactory.create(workspace=personas.other_workspace, email="x@example.test")
    client = api_for("editor")
    url = f"{URL}{template.pk}/preview/"
    unknown = client.post(url, {"recipient_id": foreign.pk})
    assert unknown.status_code == 400
    assert "no such recipient" in unknown.json()["error"]["fields"]["recipient_id"][0]["message"]
    settings.CONTENT_MAX_RENDERED_BYTES = 10
    too_big = client.post(url, {})
    assert too_big.status_code == 400
    message = too_big.json()["error"]["fields"]["non_field_errors"][0]["message"]
    assert message.startswith("No preview: The message is larger than 10 bytes")


def test_the_gallery_and_a_template_from_a_starter(personas, api_for):
    client = api_for("editor")
    starters = client.get(f"{URL}starters/").json()
    assert [s["key"] for s in starters] == [
        "letter",
        "newsletter",
        "announcement",
        "announcement-blocks",
        "newsletter-blocks",
        "letter-blocks",
    ]
    created = client.post(f"{URL}from-starter/", {"starter": "newsletter"})
    assert created.status_code == 201
    assert created.json()["name"] == "Newsletter"
    assert created.json()["text_from_html"] is True
    assert client.post(f"{URL}from-starter/", {"starter": "nope"}).status_code == 400


def test_viewers_get_403_on_every_write(personas, api_for):
    template = TemplateFactory.create(workspace=personas.workspace, name="Kept")
    viewer = api_for("viewer")
    writes = [
        viewer.post(URL, body()),
        viewer.put(f"{URL}{template.pk}/", body()),
        viewer.patch(f"{URL}{template.pk}/", {"name": "x"}),
        viewer.delete(f"{URL}{template.pk}/"),
        viewer.post(f"{URL}{template.pk}/duplicate/"),
        viewer.post(f"{URL}from-starter/", {"starter": "letter"}),
    ]
    assert [w.status_code for w in writes] == [403] * 6
    assert list(Template.objects.values_list("name", flat=True)) == ["Kept"]
    assert viewer.get(f"{URL}{template.pk}/").status_code == 200


def test_another_workspaces_templates_are_404(personas, api_for):
    theirs = TemplateFactory.create(workspace=personas.other_workspace)
    client = api_for("owner")
    assert client.get(f"{URL}{theirs.pk}/").status_code == 404
    assert client.post(f"{URL}{theirs.pk}/preview/", {}).status_code == 404
    assert client.post(f"{URL}{theirs.pk}/duplicate/").status_code == 404
    assert Template.objects.filter(workspace=personas.workspace).count() == 0


def test_a_user_works_with_a_jwt(personas):
    client = APIClient()
    login = client.post("/api/login/", {"email": "editor@acme.test", "password": PASSWORD})
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {login.json()['access']}")
    assert client.post(URL, body()).status_code == 201
    assert Template.objects.filter(workspace=personas.workspace).count() == 1


MJML_BODY = (
    "<mjml><mj-body><mj-section><mj-column>\n<mj-text>Hi {first_name}</mj-text>\n"
    "</mj-column></mj-section></mj-body></mjml>"
)


def test_an_mjml_template_through_the_api(personas, api_for):
    client = api_for("editor")
    response = client.post(URL, body(format="mjml", mjml_body=MJML_BODY, html_body="ignored"))
    assert response.status_code == 201
    created = response.json()
    assert (created["format"], created["mjml_body"]) == ("mjml", MJML_BODY)
    assert "mj-column-per-100" in created["html_body"]
    assert "ignored" not in created["html_body"]
    broken = MJML_BODY.replace("</mj-text>", "")
    response = client.patch(f"{URL}{created['id']}/", {"mjml_body": broken, "format": "html"})
    assert response.status_code == 400
    [message] = response.json()["error"]["fields"]["mjml_body"]
    assert message["message"].startswith("MJML, line 3: The MJML does not compile")
    response = client.patch(f"{URL}{created['id']}/", {"mjml_body": MJML_BODY.replace("Hi", "Yo")})
    assert response.status_code == 200
    assert response.json()["format"] == "mjml"
    assert "Yo {first_name}" in response.json()["html_body"]
