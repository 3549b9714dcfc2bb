"""The log and a campaign's page show an account's name and address, never its secrets: they
neither read the encrypted columns nor decrypt them (a whole account loaded per row was every
column, each secret decrypted, for a name)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaigns.tests.factories import AttemptFactory, CampaignFactory, DeliveryFactory
from core.crypto import encrypted_fields
from sending.models import SendingAccount
from sending.tests.factories import SendingAccountFactory

pytestmark = pytest.mark.django_db


def _secret_columns() -> list[str]:
    return [f.column for model, f in encrypted_fields() if model is SendingAccount]


def test_the_log_and_a_campaigns_page_read_no_secret_of_an_account(personas, owner_client):
    account = SendingAccountFactory.create(
        workspace=personas.workspace, name="Office SMTP", smtp_password="s3cret-value"
    )
    campaign = CampaignFactory.create(workspace=personas.workspace, accounts=[account])
    delivery = DeliveryFactory.create(campaign=campaign, account=account)
    AttemptFactory.create(delivery=delivery, account_id=account.pk)
    columns = _secret_columns()
    assert "smtp_password" in columns
    for url, shown in (
        ("/logs/", ["Office SMTP", campaign.name]),
        (f"/campaigns/{campaign.pk}/", ["Office SMTP", account.from_email]),
    ):
        with CaptureQueriesContext(connection) as queries:
            response = owner_client.get(url)
        page = response.content.decode()
        assert response.status_code == 200
        for text in shown:
            assert text in page, (url, text)
        read = [
            q["sql"]
            for q in queries.captured_queries
            if "sending_sendingaccount" in q["sql"]
            and any(f'"{column}"' in q["sql"] for column in columns)
        ]
        assert not read, (url, read)
