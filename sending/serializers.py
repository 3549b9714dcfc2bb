"""What the sending API reads and writes. Secrets are write-only: no output field holds one.

Input serializers only type the fields for the schema and the parser; the rules of an account
are the UI's (sending.forms.AccountForm), applied by the API views.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.access import base_url_of
from accounts.api.access import api_access
from accounts.models import Role
from sending import warmup
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


class WarmupDayOut(serializers.Serializer[Any]):
    day = serializers.DateField()
    limit = serializers.IntegerField()


class WarmupOut(serializers.Serializer[Any]):
    today = serializers.IntegerField()
    curve = WarmupDayOut(many=True)
    days_to_target = serializers.IntegerField(allow_null=True)
    held_since = serializers.DateField(allow_null=True)
    hold_reason = serializers.CharField()


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
    limit_today = serializers.SerializerMethodField(
        help_text="The most it may send today: the warm-up's value while it warms up, "
        "else daily_limit."
    )
    warmup = serializers.SerializerMethodField(
        help_text="The warm-up (null when none): today's value, the next days' values, the "
        "days to the target, and since when and why the ramp is held (null: not held)."
    )

    class Meta:
        model = SendingAccount
        fields: tuple[str, ...] = (
            "id",
            "name",
            "from_email",
            "from_name",
            "reply_to",
            "return_path_domain",
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
            "warmup_start",
            "warmup_increase",
            "warmup_started_on",
            "warmup",
            "limit_today",
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
        day = self.context["day"]
        return max(warmup.day_limit(account, day) - account.sent_on(day), 0)

    @extend_schema_field(serializers.IntegerField())
    def get_limit_today(self, account: SendingAccount) -> int:
        return warmup.day_limit(account, self.context["day"])

    @extend_schema_field(WarmupOut(allow_null=True))
    def get_warmup(self, account: SendingAccount) -> dict[str, Any] | None:
        if not warmup.is_warming(account):
            return None
        day = self.context["day"]
        return {
            "today": warmup.day_limit(account, day),
            "curve": [{"day": p.day, "limit": p.limit} for p in warmup.curve(account, day)],
            "days_to_target": warmup.days_to_target(account, day),
            "held_since": account.warmup_held_since,
            "hold_reason": account.warmup_hold_reason,
        }


class EmailAccountDetailOut(EmailAccountOut):
    """One account: also, for owners, the URL its e-mail service posts events to."""

    events_webhook_url = serializers.SerializerMethodField(
        help_text="E-mail service accounts: the address to give the service for its event "
        "webhook (owners only; null for others, and until an owner makes one in the UI)."
    )

    class Meta(EmailAccountOut.Meta):
        fields: tuple[str, ...] = (*EmailAccountOut.Meta.fields, "events_webhook_url")
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_events_webhook_url(self, account: SendingAccount) -> str | None:
        request = self.context.get("request")
        if request is None or not api_access(request).allows(Role.OWNER):
            return None
        path = account.esp_webhook_path
        return f"{base_url_of(request._request)}{path}" if path else None


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
    return_path_domain = _text(
        max_length=253,
        help_text="VERP: campaign messages leave with the return path bounces+<token>@ this "
        "domain, so each bounce names its message. Needs an MX record to a bounce mailbox "
        "Postroom reads and an SPF record allowing the sending servers. Empty: the sender "
        "address.",
    )
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
    warmup_start = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        help_text="Messages on the first day of a warm-up (it begins today); null ends it.",
    )
    warmup_increase = serializers.IntegerField(
        required=False, min_value=1, max_value=1000, help_text="Percent more each day."
    )


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
