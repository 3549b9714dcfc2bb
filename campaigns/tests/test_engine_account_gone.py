"""The rows written for every message (deliveries, attempts) and for every imported row
(recipients) are not checked per row by foreign keys, and an account deleted while its batch
is being recorded costs nothing: the messages it sent stay recorded as sent, once, and the
pages show the account as gone.

With the constraints, the three key-share lookups a message cost the database ~8.5 µs of its
CPU (pg_stat_statements, 100,000 messages), and the recipients' a sixth of a COPY; and the
deleted account failed the batch's record at commit, so that its messages went again."""

from __future__ import annotations

import pytest
from django.db import connection
from django.urls import reverse

from audience.models import Recipient
from campaigns.engine import record
from campaigns.engine.step import Engine
from campaigns.models import Attempt, Delivery, DeliveryStatus
from campaigns.services import campaign_start
from campaigns.tests.conftest import make_campaign
from sending.models import SendingAccount
from sending.services import account_delete

pytestmark = pytest.mark.django_db(transaction=True)  # the checks ran at commit

HOT_COLUMNS = {
    Delivery: ("workspace", "campaign", "recipient", "account"),
    Attempt: ("workspace", "campaign", "delivery", "account"),
    Recipient: ("workspace",),
}


@pytest.mark.parametrize("model", list(HOT_COLUMNS), ids=lambda m: m.__name__)
def test_the_rows_written_per_message_or_imported_row_have_no_foreign_key(model):
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, model._meta.db_table)
    checked = {c for con in constraints.values() if con["foreign_key"] for c in con["columns"]}
    hot = {model._meta.get_field(name).column for name in HOT_COLUMNS[model]}
    assert not checked & hot


def test_an_account_deleted_while_its_batch_is_recorded(
    personas, smtp_sink, client, api_for, monkeypatch
):
    setup = make_campaign(personas.workspace, smtp_sink, n=3)
    campaign_start(campaign=setup.campaign)
    write = record.write_outcomes

    def deleted_meanwhile(**kwargs):
        # The user deletes the account between the messages' end of DATA and their record.
        for account in SendingAccount.objects.filter(pk=setup.account.pk):
            account_delete(account=account)
        return write(**kwargs)

    monkeypatch.setattr(record, "write_outcomes", deleted_meanwhile)
    while Engine(batch_size=10).step():
        pass

    assert not SendingAccount.objects.filter(pk=setup.account.pk).exists()
    assert sorted(m.rcpt_tos[0] for m in smtp_sink.messages) == sorted(
        p.email for p in setup.recipients
    )
    deliveries = Delivery.objects.filter(campaign=setup.campaign)
    assert {d.status for d in deliveries} == {DeliveryStatus.SENT}
    attempts = Attempt.objects.filter(campaign=setup.campaign)
    assert attempts.count() == 3
    assert {a.account_id for a in attempts} == {setup.account.pk}  # an id, pointing nowhere

    client.force_login(personas.owner)
    log = client.get(reverse("campaigns:logs"))
    assert log.status_code == 200
    assert log.content.decode().count("—") >= 3  # the account column of each attempt
    assert client.get(reverse("campaigns:detail", args=[setup.campaign.pk])).status_code == 200
    api = api_for("viewer")
    for url in ("/api/attempts/", "/api/deliveries/"):
        answer = api.get(url)
        assert answer.status_code == 200, url
        assert {row["account_id"] for row in answer.json()["results"]} == {setup.account.pk}
