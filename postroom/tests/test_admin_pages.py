"""The admin shows every model of Postroom to the operator, writes only where a service's
promises cannot be bypassed, never shows a secret, and never counts a huge table."""

from __future__ import annotations

from typing import Any

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.urls import reverse

from accounts.keys.models import ApiKey
from accounts.tests.factories import UserFactory
from campaigns.tests.conftest import make_campaign
from conftest import client_for
from core.readonly_admin import EstimatedCountPaginator, ReadOnlyAdmin
from tracking.models import BounceMailbox
from webhooks.models import Endpoint

pytestmark = pytest.mark.django_db

POSTROOM_APPS = {"accounts", "api", "audit", "audience", "content", "sending", "campaigns",
                 "tracking", "subscriptions", "webhooks"}  # fmt: skip
# Shown inside another model's page, not on their own.
INLINES = {"content.TemplateAttachment"}
SECRETS = ("whsec-PLANTED-SECRET", "PLANTED-MAILBOX-PASSWORD", "PLANTEDHASH")


def label(model) -> str:
    return f"{model._meta.app_label}.{model.__name__}"


def test_every_postroom_model_has_an_admin_page():
    missing = [
        label(model)
        for model in apps.get_models()
        if model._meta.app_label in POSTROOM_APPS
        and model not in admin.site._registry
        and label(model) not in INLINES
    ]
    assert missing == []


@pytest.fixture
def planted(personas, smtp_sink):
    """One row of most models, with secrets planted where a model holds them."""
    make_campaign(personas.workspace, smtp_sink, n=3)
    Endpoint.objects.create(
        workspace=personas.workspace, url="https://hooks.example.test/", events=[],
        secret=SECRETS[0], previous_secret=SECRETS[0],
    )  # fmt: skip
    BounceMailbox.objects.create(
        workspace=personas.workspace, name="Bounces", host="imap.example.test",
        username="bounces", password=SECRETS[1],
    )  # fmt: skip
    ApiKey.objects.create(
        workspace=personas.workspace, name="CI", role="editor", prefix="pk_test",
        key_hash=SECRETS[2] + "0" * 53, created_by=personas.owner,
    )  # fmt: skip


def read_only_admins() -> list[tuple[Any, ReadOnlyAdmin]]:
    return [(m, a) for m, a in admin.site._registry.items() if isinstance(a, ReadOnlyAdmin)]


def test_each_read_only_page_lists_shows_a_row_and_never_a_secret(planted):
    superuser = UserFactory.create(is_staff=True, is_superuser=True, email="root@platform.test")
    client = client_for(superuser)
    shown = 0
    for model, _ in read_only_admins():
        info = (model._meta.app_label, model._meta.model_name)
        page = client.get(reverse("admin:{}_{}_changelist".format(*info)))
        assert page.status_code == 200, label(model)
        bodies = [page.content.decode()]
        row = model.objects.first()
        if row is not None:
            change = client.get(reverse("admin:{}_{}_change".format(*info), args=[row.pk]))
            assert change.status_code == 200, label(model)
            bodies.append(change.content.decode())
            shown += 1
        for body in bodies:
            assert not any(secret in body for secret in SECRETS), label(model)
    assert shown >= 7  # recipient, membership, list, campaign, endpoint, mailbox, key


def test_no_one_writes_through_a_read_only_page_not_even_a_superuser(planted):
    superuser = UserFactory.create(is_staff=True, is_superuser=True, email="root@platform.test")
    client = client_for(superuser)
    endpoint = Endpoint.objects.get()
    url = reverse("admin:webhooks_endpoint_change", args=[endpoint.pk])
    assert 'name="_save"' not in client.get(url).content.decode()
    assert client.post(url, {"url": "https://evil.example.test/"}).status_code == 403
    assert client.post(reverse("admin:webhooks_endpoint_delete", args=[endpoint.pk]),
                       {"post": "yes"}).status_code == 403  # fmt: skip
    endpoint.refresh_from_db()
    assert endpoint.url == "https://hooks.example.test/"


def test_staff_with_view_permissions_read_and_change_nothing(planted):
    staff = UserFactory.create(is_staff=True, email="staff@platform.test")
    staff.user_permissions.set(Permission.objects.filter(codename__startswith="view_"))
    client = client_for(staff)
    assert client.get(reverse("admin:campaigns_campaign_changelist")).status_code == 200
    assert client.get(reverse("admin:campaigns_campaign_add")).status_code == 403


def test_an_unfiltered_huge_table_is_not_counted_on_postgresql(planted, django_assert_num_queries):
    from django.db import connection

    from campaigns.models import Delivery

    paginator = EstimatedCountPaginator(Delivery.objects.order_by("pk"), 50)
    if connection.vendor != "postgresql":
        assert paginator.count == Delivery.objects.count()  # SQLite: an exact count
        return
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE campaigns_delivery")
    with django_assert_num_queries(1) as captured:
        assert paginator.count >= 0
    assert "reltuples" in captured.captured_queries[0]["sql"]
    filtered = EstimatedCountPaginator(Delivery.objects.filter(status="sent").order_by("pk"), 50)
    assert filtered.count == Delivery.objects.filter(status="sent").count()
