"""What looks like a placeholder but would be sent as written is pointed out on save, and a
custom field that templates read is not deleted without a warning."""

import pytest
from django.urls import reverse

from audience.models import CustomField
from audience.services import workspace_initialize
from content.models import Template
from content.syntax import suspicious_tags
from content.tests.factories import TemplateFactory

KNOWN = ["first_name", "city", "tarif"]


@pytest.mark.parametrize(
    ("source", "line", "says"),
    [
        ("Hello { first_name }", 1, "write {first_name}"),
        ("x\nHi {first_name }!", 2, "has spaces inside"),
        ("Hi {\tcity|there}", 1, "write {city}"),
        ("Plan: {тариф}", 1, "write {tarif}"),
        ("Plan: {Тариф|basic}", 1, "write {tarif}"),
        ("Plan: {скидка}", 1, "field keys use Latin letters"),
        ("{first_тариф}", 1, "is not a placeholder"),
    ],
)
def test_almost_placeholders_are_reported_with_their_line(source, line, says):
    found = suspicious_tags(source, KNOWN, part="text", suggest=_transliterated)
    assert len(found) == 1
    assert found[0].line == line
    assert says in str(found[0])


@pytest.mark.parametrize(
    "source",
    [
        "{first_name}, {first_name|there}, {if city}in {city}{endif}",
        "p { color: red } a{color:blue} { json } { unknown_word }",
        "{{ first_name } shows braces",  # an escaped brace, then text
        "Привет, {first_name}!",
    ],
)
def test_real_placeholders_css_and_code_are_not_reported(source):
    assert suspicious_tags(source, KNOWN, part="HTML", suggest=_transliterated) == []


def _transliterated(word: str) -> str | None:
    return "tarif" if word.lower() == "тариф" else None


@pytest.fixture
def workspace(personas):
    workspace_initialize(workspace=personas.workspace)
    CustomField.objects.create(workspace=personas.workspace, key="tarif", label="Тариф")
    return personas.workspace


def test_the_editor_saves_and_shows_the_warnings(workspace, editor_client):
    response = editor_client.post(
        reverse("content:create"),
        {
            "name": "Plans",
            "subject": "Hi { first_name }",
            "html_body": "<p>Your plan: {тариф}</p>",
            "text_body": "Your plan: {tarif}",
        },
        follow=True,
    )
    assert Template.objects.filter(name="Plans").exists(), "a warning does not stop the save"
    page = response.content.decode()
    assert "template-warnings" in page
    assert "subject, line 1: { first_name } has spaces inside" in page
    assert "HTML, line 1: {тариф} is not a placeholder" in page
    assert "write {tarif}" in page


def test_the_api_returns_the_warnings_on_save_and_check(workspace, api_for):
    client = api_for("editor")
    body = {"name": "Plans", "subject": "Hi", "text_body": "Plan: {тариф}\n{ city }"}
    created = client.post("/api/templates/", body, format="json")
    assert created.status_code == 201
    warnings = created.json()["warnings"]
    assert [(w["field"], w["line"], w["name"]) for w in warnings] == [
        ("text_body", 1, "тариф"),
        ("text_body", 2, "city"),
    ]
    checked = client.post("/api/templates/check/", body, format="json").json()
    assert checked["valid"] is True
    assert [w["name"] for w in checked["warnings"]] == ["тариф", "city"]


def test_deleting_a_field_a_template_reads_asks_first(workspace, editor_client):
    TemplateFactory.create(workspace=workspace, name="Plans", text_body="Plan: {tarif|none}")
    TemplateFactory.create(workspace=workspace, name="Other", text_body="tarif, no placeholder")
    field = CustomField.objects.get(workspace=workspace, key="tarif")
    url = reverse("audience:field_delete", kwargs={"field_id": field.pk})
    asked = editor_client.post(url)
    assert asked.status_code == 200
    page = asked.content.decode()
    assert "template “Plans”" in page
    assert "Other" not in page
    assert CustomField.objects.filter(pk=field.pk).exists()
    editor_client.post(url, {"confirmed": "yes"})
    assert not CustomField.objects.filter(pk=field.pk).exists()


def test_deleting_an_unused_field_names_no_template(workspace, editor_client):
    field = CustomField.objects.get(workspace=workspace, key="free_field1")
    url = reverse("audience:field_delete", kwargs={"field_id": field.pk})
    asked = editor_client.post(url).content.decode()
    assert "It is used by" not in asked
    editor_client.post(url, {"confirmed": "yes"})
    assert not CustomField.objects.filter(pk=field.pk).exists()


def test_the_api_refuses_to_delete_a_field_in_use_unless_forced(workspace, api_for):
    TemplateFactory.create(workspace=workspace, name="Plans", subject="{if tarif}Plan{endif}")
    field = CustomField.objects.get(workspace=workspace, key="tarif")
    client = api_for("editor")
    refused = client.delete(f"/api/custom-fields/{field.pk}/")
    assert refused.status_code == 409
    assert "template “Plans”" in refused.json()["error"]["message"]
    assert client.delete(f"/api/custom-fields/{field.pk}/?force=true").status_code == 204
    assert not CustomField.objects.filter(pk=field.pk).exists()
