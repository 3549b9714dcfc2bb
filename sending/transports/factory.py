"""Which transport serves an account, with the DKIM signer of its workspace."""

from __future__ import annotations

from django.conf import settings

from sending.dkim import DkimSigner, SigningKey
from sending.models import AccountKind, DkimKey, SendingAccount
from sending.transports.base import Transport


def signer_for(account: SendingAccount) -> DkimSigner | None:
    """The DKIM signer of the account's workspace, or None when it has no key for the domain."""
    keys = [
        SigningKey(key.domain, key.selector, key.private_key)
        for key in DkimKey.objects.filter(workspace_id=account.workspace_id)
    ]
    signer = DkimSigner(keys)
    return signer if signer.key_for(account.from_email) else None


def transport_for(account: SendingAccount) -> Transport:
    """A new, unopened transport for `account`; use it as a context manager."""
    from sending.transports.anymail import AnymailTransport
    from sending.transports.capture import CaptureTransport
    from sending.transports.smtp import SmtpTransport

    if account.kind == AccountKind.CAPTURE:
        return CaptureTransport(account, signer=signer_for(account))
    if account.kind == AccountKind.ESP:
        # The provider signs with its own DKIM setup; the message is rebuilt from parts there.
        return AnymailTransport(account)
    return SmtpTransport(account, signer=signer_for(account))


def engine_transport_for(account: SendingAccount) -> Transport:
    """`transport_for` for the delivery engine: over SMTP, several pipelined connections
    (SENDING_CONNECTIONS_PER_ACCOUNT; one for an account with a minimum wait, whose messages
    go one by one anyway)."""
    if account.kind in (AccountKind.CAPTURE, AccountKind.ESP):
        return transport_for(account)
    from sending.transports.smtp_wire import ConnectionGroup, WireSmtpTransport

    signer = signer_for(account)
    size = 1 if account.min_interval_seconds > 0 else connections_per_account()
    return ConnectionGroup([WireSmtpTransport(account, signer=signer) for _ in range(size)])


def connections_per_account() -> int:
    """How many connections the engine opens to one account's server at most (a worker)."""
    return max(1, int(settings.SENDING_CONNECTIONS_PER_ACCOUNT))
