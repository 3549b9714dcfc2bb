"""The local capture transport: messages are stored in Postroom and shown in the app.

It is the default account of a new workspace, so a campaign can be tried without any server.
"""

from __future__ import annotations

from collections.abc import Callable
from email.parser import BytesHeaderParser
from email.policy import default as default_policy

from sending.models import CapturedMessage, SendingAccount
from sending.transports.base import OutgoingMessage, SendKind, SendResult, TransportBase

Signer = Callable[[OutgoingMessage], OutgoingMessage]


class CaptureTransport(TransportBase):
    def __init__(self, account: SendingAccount, *, signer: Signer | None = None) -> None:
        self.account = account
        self.signer = signer

    def send(self, message: OutgoingMessage) -> SendResult:
        if self.signer is not None:
            message = self.signer(message)
        subject = message.subject or _subject_of(message.raw)
        captured = CapturedMessage.objects.create(
            workspace_id=self.account.workspace_id,
            account=self.account,
            envelope_from=message.envelope_from,
            recipients=list(message.recipients),
            subject=subject[:998],
            message_id=message.message_id[:998],
            raw=message.raw,
        )
        return SendResult(
            SendKind.SENT, "Stored by the capture transport", message_id=str(captured.pk)
        )


def _subject_of(raw: bytes) -> str:
    headers = BytesHeaderParser(policy=default_policy).parsebytes(raw)
    return str(headers.get("Subject", ""))
