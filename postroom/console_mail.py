"""System mail in development (`EMAIL_URL=consolemail://`, the default with DEBUG): printed
to the console of `make run` so that a new user can open the confirmation link from there.

Django's console backend prints the raw MIME message: quoted-printable text where a long
link is cut by `=` soft line breaks, then the HTML part. This one prints a framed summary
instead (recipients, subject and the plain text, links whole), easy to find in the log.
"""

from __future__ import annotations

from typing import Any

from django.core.mail import EmailMessage
from django.core.mail.backends.console import EmailBackend as DjangoConsoleBackend

RULE = "=" * 79


class EmailBackend(DjangoConsoleBackend):
    def write_message(self, message: EmailMessage) -> None:
        lines = [
            "",
            RULE,
            "System e-mail (printed here, not sent: EMAIL_URL is consolemail://)",
            f"To:      {', '.join(message.recipients())}",
            f"Subject: {message.subject}",
            RULE,
            _text_of(message).strip(),
            RULE,
            "",
        ]
        self.stream.write("\n".join(lines) + "\n")


def _text_of(message: Any) -> str:
    """The plain-text body; the HTML alternative when there is no text."""
    if message.body:
        return str(message.body)
    for content, mimetype in getattr(message, "alternatives", []):
        if mimetype == "text/html":
            return str(content)
    return ""
