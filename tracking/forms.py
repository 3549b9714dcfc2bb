"""The bounce mailbox form: the password is write-only (empty keeps the saved one)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from sending.network import host_refusal, private_hosts_allowed
from tracking.mailboxes import FIELDS
from tracking.models import BounceMailbox, MailboxDisposal, MailboxProtocol, MailboxSecurity

SAVED = "•••• (saved)"


class BounceMailboxForm(forms.ModelForm):  # type: ignore[type-arg]
    password = forms.CharField(
        label=_("Password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
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
            "folder": _("Folder bounces arrive in (IMAP)"),
            "disposal": _("After reading a message"),
            "processed_folder": _("Move handled messages to (IMAP)"),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk and self.instance.password:
            self.fields["password"].widget.attrs["placeholder"] = SAVED
            self.fields["password"].help_text = _("Leave empty to keep the saved one.")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        refused = host_refusal(data.get("host") or "")
        if refused:
            self.add_error("host", refused)
        if not (data.get("password") or (self.instance.pk and self.instance.password)):
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

    def mailbox_data(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in (*FIELDS, "password")}
