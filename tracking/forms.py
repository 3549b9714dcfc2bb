"""The bounce mailbox form: secrets (the password, the OAuth2 client secret and refresh token)
are write-only (empty keeps the saved one)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.utils.translation import gettext_lazy as _

from sending.network import host_refusal, private_hosts_allowed
from tracking.mailboxes import FIELDS, SECRET_FIELDS
from tracking.models import (
    BounceMailbox,
    MailboxAuth,
    MailboxDisposal,
    MailboxProtocol,
    MailboxSecurity,
)

SAVED = "•••• (saved)"


def _secret(label: Any) -> forms.CharField:  # a lazy translation
    return forms.CharField(
        label=label,
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )


class BounceMailboxForm(forms.ModelForm):  # type: ignore[type-arg]
    password = _secret(_("Password"))
    oauth_provider = forms.ChoiceField(
        label=_("OAuth2 provider"),
        required=False,
        choices=[
            ("gmail", _("Google (Gmail, Google Workspace)")),
            ("outlook", _("Microsoft (Outlook, Office 365)")),
            ("", _("Another: give its token endpoint")),
        ],
    )
    oauth_client_id = forms.CharField(label=_("OAuth2 client id"), required=False, max_length=255)
    oauth_client_secret = _secret(_("OAuth2 client secret"))
    oauth_refresh_token = _secret(_("OAuth2 refresh token"))
    oauth_token_endpoint = forms.URLField(
        label=_("OAuth2 token endpoint"),
        required=False,
        assume_scheme="https",
        help_text=_("Empty: the provider's own."),
    )

    class Meta:
        model = BounceMailbox
        fields = FIELDS
        labels = {
            "name": _("Name"),
            "enabled": _("Poll this mailbox"),
            "protocol": _("Protocol"),
            "host": _("Server"),
            "port": _("Port"),
            "security": _("Security"),
            "username": _("User name"),
            "auth": _("Sign in with"),
            "folder": _("Folder bounces arrive in (IMAP)"),
            "disposal": _("After reading a message"),
            "processed_folder": _("Move handled messages to (IMAP)"),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in SECRET_FIELDS:
            if self.instance.pk and getattr(self.instance, name):
                self.fields[name].widget.attrs["placeholder"] = SAVED
                self.fields[name].help_text = _("Leave empty to keep the saved one.")
        if not self.instance.pk:
            self.initial.setdefault("oauth_provider", "gmail")

    def _saved(self, data: dict[str, Any], name: str) -> bool:
        return bool(data.get(name) or (self.instance.pk and getattr(self.instance, name)))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        refused = host_refusal(data.get("host") or "")
        if refused:
            self.add_error("host", refused)
        if data.get("auth") == MailboxAuth.OAUTH2:
            self._clean_oauth(data)
        elif not self._saved(data, "password"):
            self.add_error("password", _("Give the mailbox's password."))
        if (
            data.get("protocol") == MailboxProtocol.POP3
            and data.get("disposal") == MailboxDisposal.MOVE
        ):
            self.add_error("disposal", _("POP3 has no folders: handled messages are deleted."))
        if data.get("security") == MailboxSecurity.NONE and not private_hosts_allowed():
            self.add_error(
                "security", _("Choose TLS or STARTTLS: a password is never sent in the clear.")
            )
        return data

    def _clean_oauth(self, data: dict[str, Any]) -> None:
        if not data.get("oauth_client_id"):
            self.add_error("oauth_client_id", _("Give the OAuth2 client id."))
        endpoint = data.get("oauth_token_endpoint") or ""
        if not data.get("oauth_provider"):
            if not endpoint:
                self.add_error(
                    "oauth_token_endpoint", _("Give the token endpoint of the provider.")
                )
            if not self._saved(data, "oauth_refresh_token"):
                # without Google's or Microsoft's consent page, it comes from the provider
                self.add_error("oauth_refresh_token", _("Give the OAuth2 refresh token."))
        parsed = urlsplit(endpoint)
        refused = host_refusal(parsed.hostname or "")
        if refused:
            self.add_error("oauth_token_endpoint", refused)
        elif endpoint and parsed.scheme != "https" and not private_hosts_allowed():
            self.add_error(
                "oauth_token_endpoint", _("The token endpoint must be an https:// address.")
            )

    def mailbox_data(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in (*FIELDS, *SECRET_FIELDS)}
