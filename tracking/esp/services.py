"""The events webhook of an e-mail service account: its secret URL and its signing key."""

from __future__ import annotations

import secrets

from django.db import transaction
from django.utils.translation import gettext_noop

from sending.models import AccountKind, SendingAccount

# Services whose events carry a signature Postroom can check with a key the user gives (the
# help is translated where the panel shows it).
SIGNING_KEY_HELP = {
    "mailgun": gettext_noop(
        "Mailgun's HTTP webhook signing key (Sending → Webhooks). Without it, the API "
        "key is used, as older Mailgun accounts sign with it."
    ),
    "sendgrid": gettext_noop(
        "The verification key of SendGrid's signed event webhook (optional: the URL's "
        "secret is checked either way)."
    ),
}


@transaction.atomic
def webhook_token_rotate(*, account: SendingAccount) -> str:
    """Give `account` a new webhook secret; the old URL stops working at once. Returns it."""
    if account.kind != AccountKind.ESP:
        raise ValueError("only e-mail service accounts have an events webhook")
    token = secrets.token_urlsafe(32)
    account.esp_webhook_token = token
    account.save(update_fields=["esp_webhook_token"])
    return token


@transaction.atomic
def webhook_key_set(*, account: SendingAccount, key: str) -> None:
    """Store the key the service signs its events with (empty: none)."""
    if account.kind != AccountKind.ESP:
        raise ValueError("only e-mail service accounts have an events webhook")
    account.esp_webhook_key = "".join(key.split()) if account.esp_provider == "sendgrid" else key
    account.save(update_fields=["esp_webhook_key"])
