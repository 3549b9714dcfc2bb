"""What an editor builds or removes is in the audit log: templates, segments, lists, custom
fields, DKIM keys, campaigns, sign-up forms and webhook endpoints. Changes name the fields that
changed, never their contents, and nothing is recorded where nothing changed."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.audit.models import AuditEntry
from audience import services as audience
from audience.models import RecipientList
from campaigns import editing
from campaigns.tests.conftest import make_campaign
from content import services as content
from content.models import Template
from sending import services as sending
from subscriptions.models import SignupForm, new_public_key
from subscriptions.services import form_delete
from webhooks.models import Endpoint
from webhooks.services import endpoint_delete

pytestmark = pytest.mark.django_db


def actions(workspace) -> list[tuple[str, str, object]]:
    return [
        (e.action, e.target_label, e.detail.get("fields"))
        for e in AuditEntry.objects.filter(workspace=workspace).order_by("id")
    ]


def test_templates_are_recorded_made_changed_and_deleted_by_whom(personas, editor_client):
    made = editor_client.post(
        reverse("content:create"),
        {"name": "Spring", "subject": "Hello", "html_body": "<p>Hi {first_name}</p>"},
    )
    assert made.status_code == 302, made.content.decode()
    template = Template.objects.get(workspace=personas.workspace, name="Spring")
    content.template_update(
        template=template,
        name="Spring",
        subject="Hello again",
        html_body="<p>A secret offer for {first_name}</p>",
        text_body="",
        text_from_html=True,
    )
    content.template_update(  # the same again: nothing to record
        template=template,
        name="Spring",
        subject="Hello again",
        html_body="<p>A secret offer for {first_name}</p>",
        text_body="",
        text_from_html=True,
    )
    content.template_delete(template=template)

    assert actions(personas.workspace) == [
        ("template.created", "Spring", None),
        ("template.changed", "Spring", ["html_body", "subject", "text_from_html"]),
        ("template.deleted", "Spring", None),
    ]
    created = AuditEntry.objects.get(action="template.created")
    assert (created.actor, created.via) == (personas.editor, "web")
    assert "secret offer" not in str(AuditEntry.objects.values_list("detail", flat=True))


def test_segments_lists_and_fields_are_recorded(personas):
    ws = personas.workspace
    segment = audience.segment_save(
        workspace=ws, name="Gmail", definition={"field": "email", "op": "contains", "value": "@"}
    )
    audience.segment_save(
        workspace=ws,
        name="Gmail people",
        definition={"field": "email", "op": "contains", "value": "@"},
        segment=segment,
    )
    audience.segment_delete(segment=segment)
    people = RecipientList.objects.create(workspace=ws, name="People")
    audience.list_delete(recipient_list=people)
    field = audience.custom_field_create(workspace=ws, key="plan", label="Plan", type="text")
    audience.custom_field_delete(field=field)

    assert actions(ws) == [
        ("segment.created", "Gmail", None),
        ("segment.changed", "Gmail people", ["name"]),
        ("segment.deleted", "Gmail people", None),
        ("list.deleted", "People", None),
        ("custom_field.deleted", str(field), None),
    ]


def test_keys_campaigns_forms_and_endpoints_deleted_are_recorded(personas, smtp_sink):
    ws = personas.workspace
    key = sending.dkim_key_create(workspace=ws, domain="acme.test", selector="pr")
    sending.dkim_key_delete(key=key)
    setup = make_campaign(ws, smtp_sink, n=1)
    editing.campaign_delete(campaign=setup.campaign)
    form = SignupForm.objects.create(workspace=ws, name="Footer", public_key=new_public_key())
    form_delete(form=form)
    endpoint = Endpoint.objects.create(
        workspace=ws, url="https://hooks.acme.test/in?token=s3cr3t-value", secret="x"
    )
    endpoint_delete(endpoint=endpoint)

    deleted = [a for a in actions(ws) if a[0].endswith("deleted")]
    assert deleted == [
        ("dkim.key_deleted", "pr._domainkey.acme.test", None),
        ("campaign.deleted", str(setup.campaign), None),
        ("signup_form.deleted", "Footer", None),
        ("webhook.endpoint_deleted", "hooks.acme.test", None),
    ]
    assert not AuditEntry.objects.filter(target_label__contains="s3cr3t").exists()
