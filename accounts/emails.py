"""The system e-mails of accounts: verification, invitation, a sign-up with a taken address.
Sent through Django's mail backend.

Each message has a plain-text and an HTML part rendered from templates under
`accounts/email/`, so that every client shows something readable.
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
import socket
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from accounts.models import Invitation, User

log = logging.getLogger(__name__)


class MailNotSent(Exception):
    """The system mail server did not take the message; the text says why, in plain words."""


def _reply(code: int, text: bytes | str) -> str:
    return f"{code} {text.decode(errors='replace') if isinstance(text, bytes) else text}"


def describe_failure(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        return _("the mail server answered %(reply)s") % {
            "reply": _reply(exc.smtp_code, exc.smtp_error)
        }
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        replies = "; ".join(_reply(code, text) for code, text in exc.recipients.values())
        return _("the mail server refused the address: %(replies)s") % {"replies": replies}
    if isinstance(exc, ConnectionRefusedError):
        return _("the mail server refused the connection")
    if isinstance(exc, socket.timeout | TimeoutError):
        return _("the mail server did not answer in time")
    if isinstance(exc, socket.gaierror):
        return _("the mail server's name could not be resolved")
    return str(exc) or exc.__class__.__name__


def in_language_of(user: User | None) -> contextlib.AbstractContextManager[Any]:
    """Render in the language the user chose on their profile; without one, in the language
    of the request that sends the mail (the browser's), or LANGUAGE_CODE outside requests."""
    if user is not None and user.language:
        return translation.override(user.language)
    return contextlib.nullcontext()


def send_templated(
    *,
    to: str | list[str],
    template: str,
    context: dict[str, Any],
    folder: str = "accounts/email",
    reader: User | None = None,
) -> None:
    """Render `<folder>/<template>_subject.txt`, `.txt` and `.html` and send them as one
    message (to several addresses: one message they all see), in the reader's language."""
    with in_language_of(reader):
        # A subject is one line, whatever the template did.
        subject = " ".join(render_to_string(f"{folder}/{template}_subject.txt", context).split())
        text = render_to_string(f"{folder}/{template}.txt", context)
        html = render_to_string(f"{folder}/{template}.html", context)
    recipients = [to] if isinstance(to, str) else to
    message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, recipients)
    message.attach_alternative(html, "text/html")
    try:
        message.send()
    except (smtplib.SMTPException, OSError) as exc:
        log.warning("system mail to %s not sent: %s", ", ".join(recipients), exc)
        raise MailNotSent(describe_failure(exc)) from exc


def send_verification(*, user: User, link: str) -> None:
    send_templated(
        to=user.email,
        template="verify",
        context={"user": user, "link": link, "hours": settings.EMAIL_VERIFICATION_MAX_AGE // 3600},
        reader=user,
    )


def send_account_exists(*, user: User, login_link: str, reset_link: str) -> None:
    """To the owner of an address someone tried to sign up with again."""
    send_templated(
        to=user.email,
        template="account_exists",
        context={"user": user, "login_link": login_link, "reset_link": reset_link},
        reader=user,
    )


def send_invitation(*, invitation: Invitation, link: str) -> None:
    inviter = invitation.invited_by.display_name if invitation.invited_by else "Someone"
    send_templated(
        to=invitation.email,
        template="invitation",
        context={
            "invitation": invitation,
            "inviter": inviter,
            "link": link,
            "days": settings.INVITATION_MAX_AGE_DAYS,
        },
        # Someone with an account already reads it in their language; others in the inviter's.
        reader=User.objects.filter(email=invitation.email).first(),
    )
