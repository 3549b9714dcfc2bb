"""Test sends of a template: personalised per address, through a chosen account."""

import pytest
from django.urls import reverse

from audience.models import Recipient
from content.models import Template
from sending.models import AccountKind, CapturedMessage, SendingAccount
from sending.services import workspace_initialize
from sending.tests.factories import SendingAccountFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def template(personas):
    return Template.objects.create(
        workspace=personas.workspace,
        name="Hello",
        subject="Hello {first_name|there}",
        html_body="<p>Dear {first_name|friend} of {company|your company}</p>",
        text_body="Dear {first_name|friend} of {company|your company}",
    )


def test_a_test_goes_to_each_address_as_its_recipient(personas, template, smtp_sink, editor_client):
    Recipient.objects.create(
        workspace=personas.workspace, email="ann@example.test", first_name="Ann", company="Initech"
    )
    account = SendingAccountFactory.create(
        workspace=personas.workspace, smtp_host=smtp_sink.host, smtp_port=smtp_sink.port
    )
    url = reverse("sending:template_test_send", kwargs={"template_id": template.pk})
    response = editor_client.post(
        url, {"account": account.pk, "addresses": "ann@example.test, new@example.test"}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert page.count(">sent<") == 2
    by_rcpt = {m.rcpt_tos[0]: m for m in smtp_sink.wait_for(2)}
    assert by_rcpt["ann@example.test"].subject == "Hello Ann"
    assert "Dear Ann of Initech" in by_rcpt["ann@example.test"].text
    assert "as that recipient" in page
    assert "with sample data" in page


def test_the_capture_account_shows_the_test_in_the_app(personas, template, editor_client):
    workspace_initialize(workspace=personas.workspace)  # what a new workspace gets
    capture = SendingAccount.objects.get(workspace=personas.workspace, kind=AccountKind.CAPTURE)
    url = reverse("sending:template_test_send", kwargs={"template_id": template.pk})
    editor_client.post(url, {"account": capture.pk, "addresses": "x@example.test"})
    assert CapturedMessage.objects.get(workspace=personas.workspace).recipients == [
        "x@example.test"
    ]


def test_bad_input_is_refused_and_nothing_is_sent(personas, template, smtp_sink, editor_client):
    account = SendingAccountFactory.create(
        workspace=personas.workspace, smtp_host=smtp_sink.host, smtp_port=smtp_sink.port
    )
    url = reverse("sending:template_test_send", kwargs={"template_id": template.pk})
    eleven = ",".join(f"a{i}@example.test" for i in range(11))
    for addresses, message in (("not-an-address", "Not an e-mail address"), (eleven, "at most 10")):
        response = editor_client.post(url, {"account": account.pk, "addresses": addresses})
        assert message in response.content.decode()
    foreign = SendingAccountFactory.create(workspace=personas.other_workspace)
    response = editor_client.post(url, {"account": foreign.pk, "addresses": "a@example.test"})
    assert "Select a valid choice" in response.content.decode()
    assert smtp_sink.messages == []


def test_a_refused_address_is_reported_in_words(personas, template, smtp_sink, editor_client):
    account = SendingAccountFactory.create(
        workspace=personas.workspace, smtp_host=smtp_sink.host, smtp_port=smtp_sink.port
    )
    url = reverse("sending:template_test_send", kwargs={"template_id": template.pk})
    response = editor_client.post(
        url, {"account": account.pk, "addresses": "nouser+1@example.test"}
    )
    page = response.content.decode()
    assert "not sent" in page
    assert "5.1.1" in page


def test_viewers_cannot_send_tests(personas, template, viewer_client):
    url = reverse("sending:template_test_send", kwargs={"template_id": template.pk})
    assert viewer_client.get(url).status_code == 403
