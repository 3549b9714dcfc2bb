"""Test support that talks to real parts: an SMTP server on loopback and a real browser.

`core.testing.smtp` holds `SmtpSink`; `core.testing.fixtures` is the pytest plugin that
the root conftest loads (`pytest_plugins = ["core.testing.fixtures"]`).
"""

from core.testing.smtp import CapturedMessage, Refusal, SmtpSink, make_self_signed_cert

__all__ = ["CapturedMessage", "Refusal", "SmtpSink", "make_self_signed_cert"]
