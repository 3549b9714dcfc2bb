"""Forms for sending accounts and DKIM keys. Secrets are write-only: never shown again."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.utils.translation import gettext_lazy as _

from content.forms import TestSendForm
from core.digits import is_number
from sending import selectors
from sending.models import AccountKind, EspProvider, Security, SendingAccount
from sending.network import host_refusal, port_refusal, smtp_ports
from sending.services import SECRET_FIELDS

SAVED = "•••• (saved)"
AWS_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")
SECRET_LABELS = {
    "smtp_password": _("SMTP password"),
    "oauth_client_secret": _("OAuth2 client secret"),
    "oauth_refresh_token": _("OAuth2 refresh token"),
    "esp_api_key": _("API key or token"),
}
# A host name: letters, digits and inner hyphens per label (RFC 1123), two labels at least.
_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
RETURN_PATH_HELP = _(
    "Optional: a domain of yours for bounces, such as bounces.example.com. Each campaign "
    "message then leaves with the return path bounces+(a token)@ this domain, so that a "
    "bounce names its message exactly. It needs DNS records: an MX record of this domain "
    "pointing at the mail server of a bounce mailbox Postroom reads (Settings, Feedback, "
    "catching every address of the domain), and an SPF record (TXT v=spf1 ...) of this domain "
    "allowing this account's sending servers, since receivers check SPF against the return "
    "path. A subdomain of the sender address's domain keeps DMARC's relaxed alignment. "
    "Empty: the sender address is the return path."
)
SMTP_KINDS = {AccountKind.SMTP}
PRESET_KINDS = {AccountKind.GMAIL, AccountKind.OUTLOOK, AccountKind.YAHOO, AccountKind.ZOHO}


class AccountForm(forms.ModelForm):  # type: ignore[type-arg]
    """Validates an account. Secret fields start empty; empty keeps the stored value."""

    oauth_token_endpoint = forms.URLField(
        label=_("OAuth2 token endpoint"),
        required=False,
        assume_scheme="https",
        help_text=_("Empty: the provider's own."),
    )

    class Meta:
        model = SendingAccount
        fields = (
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
            "oauth_provider",
            "oauth_client_id",
            "oauth_token_endpoint",
            "esp_provider",
            "esp_key_id",
            "esp_region",
            "daily_limit",
            "min_interval_seconds",
            "warmup_start",
            "warmup_increase",
        )
        # The model's verbose names and help, translated where the form shows them.
        labels = {
            "name": _("Name"),
            "from_email": _("Sender e-mail"),
            "from_name": _("Sender name"),
            "reply_to": _("Reply-to"),
            "return_path_domain": _("Return-path domain"),
            "kind": _("Kind"),
            "smtp_host": _("SMTP host"),
            "smtp_port": _("SMTP port"),
            "smtp_security": _("Security"),
            "smtp_username": _("SMTP username"),
            "oauth_provider": _("OAuth2 provider"),
            "oauth_client_id": _("OAuth2 client id"),
            "esp_provider": _("E-mail service"),
            "esp_key_id": _("Access key id"),
            "esp_region": _("Region"),
            "daily_limit": _("Daily limit"),
            "min_interval_seconds": _("Minimum seconds between messages"),
            "warmup_start": _("Warm-up start"),
            "warmup_increase": _("Warm-up daily increase (%)"),
        }
        help_texts = {
            "return_path_domain": RETURN_PATH_HELP,
            "esp_key_id": _("Amazon SES only."),
            "esp_region": _(
                "Amazon SES: the region, e.g. eu-west-1. Mailgun: EU for its EU endpoint."
            ),
            "warmup_start": _("Messages on the first day of a warm-up; empty: no warm-up."),
            "warmup_increase": _(
                "How much the day's limit rises each day until it reaches the daily limit."
            ),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        instance = self.instance
        # The model's choices are marked with gettext_noop: shown translated.
        for name, choices in (("kind", AccountKind.choices), ("smtp_security", Security.choices)):
            field = self.fields[name]
            assert isinstance(field, forms.ChoiceField)  # noqa: S101 - model choices
            field.choices = [(value, _(label)) for value, label in choices]
        # Only read with a start value: a form (or an API call) without it keeps the saved one.
        self.fields["warmup_increase"].required = False
        for name in SECRET_FIELDS:
            saved = bool(instance.pk and getattr(instance, name))
            self.fields[name] = forms.CharField(
                label=SECRET_LABELS[name],
                required=False,
                strip=False,
                widget=forms.PasswordInput(
                    render_value=False,
                    attrs={"placeholder": SAVED if saved else "", "autocomplete": "new-password"},
                ),
                help_text=_("Leave empty to keep the saved one.") if saved else "",
            )

    def clean_return_path_domain(self) -> str:
        refused, domain = domain_refusal(self.cleaned_data.get("return_path_domain") or "")
        if refused:
            raise forms.ValidationError(refused)
        return domain

    def _has_secret(self, name: str) -> bool:
        return bool(self.cleaned_data.get(name) or getattr(self.instance, name, ""))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind = data.get("kind")
        if kind in SMTP_KINDS and not data.get("smtp_host"):
            self.add_error("smtp_host", _("An SMTP account needs the server's host name."))
        refused = host_refusal(data.get("smtp_host") or "") if kind in SMTP_KINDS else None
        if refused:
            self.add_error("smtp_host", refused)
        port = data.get("smtp_port")
        refused = port_refusal(port, smtp_ports()) if kind in SMTP_KINDS and port else None
        if refused:
            self.add_error("smtp_port", refused)
        if kind in PRESET_KINDS and not data.get("smtp_username"):
            self.add_error(
                "smtp_username", _("Give the mailbox's user name (usually the address).")
            )
        if kind in PRESET_KINDS and not self._has_secret("smtp_password"):
            self.add_error("smtp_password", _("Give the mailbox's app password."))
        if kind == AccountKind.OAUTH2:
            self._clean_oauth(data)
        if kind == AccountKind.ESP:
            self._clean_esp(data)
        if data.get("warmup_increase") is None:
            data["warmup_increase"] = self.instance.warmup_increase
        start, target = data.get("warmup_start"), data.get("daily_limit")
        if start is not None and target is not None and not 0 < start <= target:
            self.add_error(
                "warmup_start", _("Start between 1 and the daily limit (the warm-up's target).")
            )
        return data

    def _clean_oauth(self, data: dict[str, Any]) -> None:
        if not data.get("oauth_provider"):
            self.add_error("oauth_provider", _("Choose Gmail or Outlook."))
        if not data.get("oauth_client_id"):
            self.add_error("oauth_client_id", _("Give the OAuth2 client id."))
        refused = host_refusal(urlsplit(data.get("oauth_token_endpoint") or "").hostname or "")
        if refused:
            self.add_error("oauth_token_endpoint", refused)
        # No refresh token yet is fine: "Connect" on the account's page obtains one.

    def _clean_esp(self, data: dict[str, Any]) -> None:
        provider = data.get("esp_provider")
        if not provider:
            self.add_error("esp_provider", _("Choose the e-mail service."))
        if not self._has_secret("esp_api_key"):
            self.add_error("esp_api_key", _("Give the API key (Postmark: server token)."))
        if provider == EspProvider.AMAZON_SES and not data.get("esp_key_id"):
            self.add_error("esp_key_id", _("Amazon SES needs the access key id."))
        region = data.get("esp_region") or ""
        if provider == EspProvider.AMAZON_SES and region and not AWS_REGION.match(region):
            # boto3 builds the endpoint's host name from it: only real region names.
            self.add_error("esp_region", _("Give an AWS region name like eu-west-1."))

    def account_data(self) -> dict[str, Any]:
        """What the services take: the model fields plus the secrets typed in."""
        return {name: self.cleaned_data.get(name) for name in (*self.Meta.fields, *SECRET_FIELDS)}


class TestForm(forms.Form):
    send_to = forms.EmailField(
        label=_("Send a test message to"),
        required=False,
        help_text=_("Empty: only connect and sign in, send nothing."),
    )


class DkimKeyForm(forms.Form):
    domain = forms.CharField(
        max_length=253, label=_("Domain"), help_text=_("The domain of the sender address.")
    )
    selector = forms.CharField(max_length=63, initial="postroom", label=_("Selector"))


class TemplateTestSendForm(TestSendForm):
    """A template test's addresses and the active account to send them through."""

    account = forms.ModelChoiceField(queryset=SendingAccount.objects.none(), label=_("Through"))

    def __init__(self, *args: Any, workspace: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["account"]
        assert isinstance(field, forms.ModelChoiceField)  # noqa: S101 - declared just above
        field.queryset = selectors.active_accounts(workspace)
        self.order_fields(["account", "addresses"])


def domain_refusal(value: str) -> tuple[str, str]:
    """(why `value` is not a domain name, or "", and the domain as stored: lower case,
    without a final dot, an internationalised name in its ASCII (punycode) form)."""
    domain = value.strip().rstrip(".").lower()
    if not domain:
        return "", ""
    if "@" in domain or "/" in domain or ":" in domain:
        return "Give only the domain, such as bounces.example.com (no address, no URL).", domain
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        return "This is not a valid domain name.", domain
    labels = domain.split(".")
    if len(domain) > 253 or len(labels) < 2 or not all(_LABEL.match(p) for p in labels):
        return "Give a domain name such as bounces.example.com.", domain
    if is_number(labels[-1]):
        return "Give a domain name, not an IP address.", domain
    return "", domain
