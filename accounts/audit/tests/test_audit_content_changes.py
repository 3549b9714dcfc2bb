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
from subscriptions.services import FormSettings, form_create, form_delete, form_update
from webhooks.models import Endpoint
from webhooks.services import (
    endpoint_create,
    endpoint_delete,
    endpoint_rotate_secret,
    endpoint_update,
)

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
        ("custom_field.created", str(field), None),
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


def test_lists_and_fields_made_and_changed_are_recorded_with_the_fields_changed(personas):
    ws = personas.workspace
    people = audience.list_create(workspace=ws, name="People")
    audience.list_update(recipient_list=people, name="Customers", description="")
    audience.list_update(recipient_list=people, name="Customers", description="")  # no change
    audience.list_update(
        recipient_list=people, name="Customers", description="Paying", single_opt_in=True
    )
    field = audience.custom_field_create(workspace=ws, key="plan", label="Plan", type="text")
    audience.custom_field_update(field=field, label="Plan", type="text")  # no change
    audience.custom_field_update(field=field, label="Price plan", type="choice", choices=["A"])

    assert actions(ws) == [
        ("list.created", "People", None),
        ("list.changed", "Customers", ["name"]),
        ("list.changed", "Customers", ["description", "single_opt_in"]),
        ("custom_field.created", str(field), None),
        ("custom_field.changed", str(field), ["choices", "label", "type"]),
    ]


CONFIRM = "Confirm: {confirm_url}"


def test_forms_made_and_changed_are_recorded_with_the_settings_changed(personas):
    ws = personas.workspace
    people = RecipientList.objects.create(workspace=ws, name="People")
    others = RecipientList.objects.create(workspace=ws, name="Others")
    form = form_create(
        workspace=ws, given=FormSettings(name="Footer", lists=[people], confirm_text=CONFIRM)
    )
    form_update(
        form=form, given=FormSettings(name="Footer", lists=[people], confirm_text=CONFIRM)
    )  # no change
    form_update(
        form=form,
        given=FormSettings(name="Footer", lists=[others], title="Join us", confirm_text=CONFIRM),
    )

    assert actions(ws) == [
        ("signup_form.created", "Footer", None),
        ("signup_form.changed", "Footer", ["lists", "title"]),
    ]


def test_endpoints_made_changed_and_rekeyed_are_recorded_by_host_only(personas, settings):
    settings.SENDING_ALLOW_PRIVATE_HOSTS = True  # a loopback host, never resolved outside
    ws = personas.workspace
    issued = endpoint_create(
        workspace=ws, url="https://127.0.0.1/in?token=s3cr3t-value", events=["delivery.bounced"]
    )
    endpoint = issued.endpoint
    endpoint_update(endpoint=endpoint, events=["delivery.bounced"])  # no change
    endpoint_update(endpoint=endpoint, description="CRM", active=False)
    endpoint_rotate_secret(endpoint=endpoint)

    assert actions(ws) == [
        ("webhook.endpoint_created", "127.0.0.1", None),
        ("webhook.endpoint_changed", "127.0.0.1", ["description", "active"]),
        ("webhook.secret_rotated", "127.0.0.1", None),
    ]
    made = AuditEntry.objects.get(action="webhook.endpoint_created")
    assert made.detail == {"events": ["delivery.bounced"]}
    every = str(list(AuditEntry.objects.values_list("target_label", "detail")))
    assert "s3cr3t" not in every
    assert issued.secret not in every
