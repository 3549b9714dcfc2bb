"""Test support that talks to real parts: an SMTP server on loopback and a real browser.

`postroom.testing.smtp` holds `SmtpSink`; `postroom.testing.fixtures` is the pytest plugin that
the root conftest loads (`pytest_plugins = ["postroom.testing.fixtures"]`).
"""

from postroom.testing.smtp import CapturedMessage, Refusal, SmtpSink, make_self_signed_cert

__all__ = ["CapturedMessage", "Refusal", "SmtpSink", "make_self_signed_cert"]
