"""Secrets at rest: only ciphertext in the database, rotation under a new key."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection

from core import crypto
from sending import services
from sending.models import DkimKey, SendingAccount
from sending.tests.factories import SendingAccountFactory

pytestmark = pytest.mark.django_db

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()


def raw_column(model, field: str, pk: int) -> str:
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {field} FROM {table} WHERE id = %s", [pk])  # noqa: S608
        return str(cursor.fetchone()[0])


def test_the_database_column_holds_no_plain_text():
    account = SendingAccountFactory.create(
        smtp_password="plain-secret-123",
        esp_api_key="SG.api-key-456",
        oauth_refresh_token="refresh-789",
    )
    for field, plain in [
        ("smtp_password", "plain-secret-123"),
        ("esp_api_key", "SG.api-key-456"),
        ("oauth_refresh_token", "refresh-789"),
    ]:
        stored = raw_column(SendingAccount, field, account.pk)
        assert plain not in stored
        assert stored.startswith("gAAAA")  # a Fernet token
    again = SendingAccount.objects.get(pk=account.pk)
    assert again.smtp_password == "plain-secret-123"
    assert again.esp_api_key == "SG.api-key-456"


def test_a_dkim_private_key_is_stored_encrypted(personas):
    key = services.dkim_key_create(workspace=personas.workspace, domain="acme.test", selector="s1")
    stored = raw_column(DkimKey, "private_key", key.pk)
    assert "PRIVATE KEY" not in stored
    assert "PRIVATE KEY" in DkimKey.objects.get(pk=key.pk).private_key


def test_no_secret_in_repr_or_str():
    account = SendingAccountFactory.create(smtp_password="plain-secret-123")
    assert "plain-secret-123" not in repr(account)
    assert "plain-secret-123" not in str(account)


def test_rotation_keeps_every_secret_readable_and_rewrites_old_ciphertext(settings, personas):
    settings.ENCRYPTION_KEYS = [OLD_KEY]
    account = SendingAccountFactory.create(smtp_password="pw-one", oauth_client_secret="cs-two")
    key = services.dkim_key_create(workspace=personas.workspace, domain="acme.test", selector="s1")
    pem = key.private_key
    before = raw_column(SendingAccount, "smtp_password", account.pk)

    settings.ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    call_command("rotate_secrets", stdout=open("/dev/null", "w"))  # noqa: SIM115

    after = raw_column(SendingAccount, "smtp_password", account.pk)
    assert after != before
    assert crypto.is_current(after)
    settings.ENCRYPTION_KEYS = [NEW_KEY]  # the old key is gone: everything must still read
    account = SendingAccount.objects.get(pk=account.pk)
    assert (account.smtp_password, account.oauth_client_secret) == ("pw-one", "cs-two")
    assert DkimKey.objects.get(pk=key.pk).private_key == pem


def test_rotation_leaves_current_ciphertext_alone(settings):
    settings.ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    account = SendingAccountFactory.create(smtp_password="pw")
    before = raw_column(SendingAccount, "smtp_password", account.pk)
    assert crypto.rotate_all()["sending.SendingAccount.smtp_password"] == 0
    assert raw_column(SendingAccount, "smtp_password", account.pk) == before


def test_rotation_finds_every_encrypted_field_of_every_app():
    columns = {f"{model._meta.label}.{field.name}" for model, field in crypto.encrypted_fields()}
    assert {
        "sending.SendingAccount.smtp_password",
        "sending.SendingAccount.oauth_client_secret",
        "sending.SendingAccount.oauth_refresh_token",
        "sending.SendingAccount.oauth_access_token",
        "sending.SendingAccount.esp_api_key",
        "sending.DkimKey.private_key",
    } <= columns


def test_rotation_without_the_old_key_fails_and_changes_nothing(settings):
    settings.ENCRYPTION_KEYS = [OLD_KEY]
    account = SendingAccountFactory.create(smtp_password="pw")
    before = raw_column(SendingAccount, "smtp_password", account.pk)
    settings.ENCRYPTION_KEYS = [NEW_KEY]
    with pytest.raises(CommandError, match="cannot be decrypted"):
        call_command("rotate_secrets")
    assert raw_column(SendingAccount, "smtp_password", account.pk) == before
