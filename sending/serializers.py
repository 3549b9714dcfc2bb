"""What the sending API reads and writes. Secrets are write-only: no output field holds one.

Input serializers only type the fields for the schema and the parser; the rules of an account
are the UI's (sending.forms.AccountForm), applied by the API views.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from sending.models import (
    AccountKind,
    AccountStatus,
    CapturedMessage,
    DkimKey,
    EspProvider,
    OAuthProvider,
    Security,
    SendingAccount,
)
from sending.services import SECRET_FIELDS

KEEP_HELP = "Write-only; omitted or empty keeps the saved one."


class EmailAccountOut(serializers.ModelSerializer[SendingAccount]):
    """An account as the API shows it: settings, state and today's usage; never a secret."""

    has_smtp_password = serializers.SerializerMethodField()
    has_oauth_client_secret = serializers.SerializerMethodField()
    has_oauth_refresh_token = serializers.SerializerMethodField()
    has_esp_api_key = serializers.SerializerMethodField()
    sent_today = serializers.SerializerMethodField(
        help_text="Messages counted today (the workspace's local day)."
    )
    remaining_today = serializers.SerializerMethodField()

    class Meta:
        model = SendingAccount
        fields = (
            "id",
            "name",
            "from_email",
            "from_name",
            "reply_to",
            "kind",
            "smtp_host",
            "smtp_port",
            "smtp_security",
            "smtp_username",
            "has_smtp_password",
            "oauth_provider",
            "oauth_client_id",
            "oauth_token_endpoint",
            "has_oauth_client_secret",
            "has_oauth_refresh_token",
            "esp_provider",
            "esp_key_id",
            "esp_region",
            "has_esp_api_key",
            "status",
            "status_reason",
            "status_changed_at",
            "last_tested_at",
            "daily_limit",
            "min_interval_seconds",
            "sent_today",
            "remaining_today",
            "last_sent_at",
            "created_at",
        )
        read_only_fields = fields

    def _has(self, account: SendingAccount, name: str) -> bool:
        # Lists annotate these flags (selectors.accounts_for_api) so nothing is decrypted.
        flag = getattr(account, f"has_{name}", None)
        return bool(flag) if flag is not None else bool(getattr(account, name))

    @extend_schema_field(serializers.BooleanField())
    def get_has_smtp_password(self, account: SendingAccount) -> bool:
        return self._has(account, "smtp_password")

    @extend_schema_field(serializers.BooleanField())
    def get_has_oauth_client_secret(self, account: SendingAccount) -> bool:
        return self._has(account, "oauth_client_secret")

    @extend_schema_field(serializers.BooleanField())
    def get_has_oauth_refresh_token(self, account: SendingAccount) -> bool:
        return self._has(account, "oauth_refresh_token")

    @extend_schema_field(serializers.BooleanField())
    def get_has_esp_api_key(self, account: SendingAccount) -> bool:
        return self._has(account, "esp_api_key")

    @extend_schema_field(serializers.IntegerField())
    def get_sent_today(self, account: SendingAccount) -> int:
        return account.sent_on(self.context["day"])

    @extend_schema_field(serializers.IntegerField())
    def get_remaining_today(self, account: SendingAccount) -> int:
        return max(account.daily_limit - account.sent_on(self.context["day"]), 0)


def _text(**kwargs: Any) -> serializers.CharField:
    return serializers.CharField(required=False, allow_blank=True, **kwargs)


def _choice(choices: Any, **kwargs: Any) -> serializers.ChoiceField:
    return serializers.ChoiceField(choices=choices, required=False, **kwargs)


class EmailAccountIn(serializers.Serializer[Any]):
    """The fields an owner sets. Only the fields given change; the UI's form checks the whole.

    Per kind: `smtp` needs smtp_host (and usually smtp_username/smtp_password); the mailbox
    presets (gmail, outlook, yahoo, zoho) need smtp_username and smtp_password (an app
    password) and fix host, port and security; `oauth2` needs oauth_provider and
    oauth_client_id, and oauth_client_secret with oauth_refresh_token to send (the browser
    consent is in the UI); `esp` needs esp_provider and esp_api_key (Amazon SES also
    esp_key_id and esp_region); `capture` keeps messages in Postroom.
    """

    name = _text(max_length=120)
    from_email = _text(max_length=254)
    from_name = _text(max_length=120)
    reply_to = _text(max_length=254)
    kind = _choice(AccountKind.choices)
    smtp_host = _text(max_length=255)
    smtp_port = serializers.IntegerField(required=False, min_value=1, max_value=65535)
    smtp_security = _choice(Security.choices)
    smtp_username = _text(max_length=255)
    smtp_password = _text(write_only=True, trim_whitespace=False, help_text=KEEP_HELP)
    oauth_provider = _choice(OAuthProvider.choices, allow_blank=True)
    oauth_client_id = _text(max_length=255)
    oauth_client_secret = _text(write_only=True, trim_whitespace=False, help_text=KEEP_HELP)
    oauth_refresh_token = _text(write_only=True, trim_whitespace=False, help_text=KEEP_HELP)
    oauth_token_endpoint = _text(max_length=200, help_text="Empty: the provider's own.")
    esp_provider = _choice(EspProvider.choices, allow_blank=True)
    esp_api_key = _text(write_only=True, trim_whitespace=False, help_text=KEEP_HELP)
    esp_key_id = _text(max_length=255)
    esp_region = _text(max_length=64)
    daily_limit = serializers.IntegerField(required=False, min_value=0)
    min_interval_seconds = serializers.IntegerField(required=False, min_value=0)


assert set(SECRET_FIELDS) <= set(EmailAccountIn._declared_fields)  # noqa: S101 - kept in step


class EmailAccountStatusIn(serializers.Serializer[Any]):
    reason = _text(max_length=1000, help_text="Shown beside the status.")


class TestConnectionIn(serializers.Serializer[Any]):
    send_to = serializers.EmailField(
        required=False, allow_blank=True, help_text="Also send a test message there."
    )


class TestConnectionOut(serializers.Serializer[Any]):
    success = serializers.BooleanField()
    message = serializers.CharField()
    email = serializers.EmailField()
    account_email = serializers.EmailField(help_text="The same address, as the seed names it.")
    status = serializers.ChoiceField(
        choices=AccountStatus.choices, help_text="The account's status after the test."
    )


class DkimKeyOut(serializers.ModelSerializer[DkimKey]):
    """A DKIM key and the TXT record to publish; the private key never leaves the server."""

    record_type = serializers.SerializerMethodField()

    class Meta:
        model = DkimKey
        fields = (
            "id",
            "domain",
            "selector",
            "record_name",
            "record_type",
            "record_value",
            "created_at",
        )
        read_only_fields = fields

    @extend_schema_field(serializers.CharField())
    def get_record_type(self, key: DkimKey) -> str:
        return "TXT"


class DkimKeyIn(serializers.Serializer[Any]):
    domain = serializers.CharField(max_length=253)
    selector = serializers.CharField(max_length=63, default="postroom")


class CapturedMessageOut(serializers.ModelSerializer[CapturedMessage]):
    recipients = serializers.ListField(child=serializers.CharField())
    account_id = serializers.IntegerField(allow_null=True)

    class Meta:
        model = CapturedMessage
        fields = (
            "id",
            "account_id",
            "envelope_from",
            "recipients",
            "subject",
            "message_id",
            "created_at",
        )
        read_only_fields = fields


class CapturedHeader(serializers.Serializer[Any]):
    name = serializers.CharField()
    value = serializers.CharField()


class CapturedMessageDetailOut(serializers.Serializer[Any]):
    """One captured message, parsed; `GET …/raw/` gives its bytes as they were "sent"."""

    id = serializers.IntegerField()
    account_id = serializers.IntegerField(allow_null=True)
    envelope_from = serializers.CharField()
    recipients = serializers.ListField(child=serializers.CharField())
    subject = serializers.CharField()
    message_id = serializers.CharField()
    created_at = serializers.DateTimeField()
    headers = CapturedHeader(many=True)
    text = serializers.CharField(allow_null=True)
    html = serializers.CharField(allow_null=True)
    size = serializers.IntegerField(help_text="Bytes of the raw message.")


class TemplateTestSendIn(serializers.Serializer[Any]):
    account_id = serializers.IntegerField(help_text="An active sending account's id.")
    addresses = serializers.ListField(
        child=serializers.CharField(max_length=254),
        min_length=1,
        help_text="Up to ten addresses; a recipient's address gets their own values.",
    )


class TemplateTestSendResult(serializers.Serializer[Any]):
    address = serializers.CharField()
    ok = serializers.BooleanField()
    message = serializers.CharField(help_text="'sent', or the server's refusal.")
    as_recipient = serializers.BooleanField(
        help_text="Rendered with that recipient's values, not sample data."
    )


class TemplateTestSendOut(serializers.Serializer[Any]):
    results = TemplateTestSendResult(many=True)
