"""The admin never shows or edits a stored secret."""

import pytest
from django.urls import reverse

from accounts.tests.factories import UserFactory
from conftest import client_for
from sending.tests.factories import SendingAccountFactory

pytestmark = pytest.mark.django_db


def test_the_admin_shows_no_secret():
    admin = UserFactory.create(is_staff=True, is_superuser=True)
    account = SendingAccountFactory.create(
        smtp_password="admin-must-not-see", esp_api_key="nor-this-key"
    )
    client = client_for(admin)
    for url in (
        reverse("admin:sending_sendingaccount_changelist"),
        reverse("admin:sending_sendingaccount_change", args=[account.pk]),
    ):
        page = client.get(url).content.decode()
        assert "admin-must-not-see" not in page
        assert "nor-this-key" not in page
        assert 'name="smtp_password"' not in page
