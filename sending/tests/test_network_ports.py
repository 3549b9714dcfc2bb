"""SMTP accounts connect only to mail ports: a public host may run more than mail."""

import pytest

from sending import services
from sending.forms import AccountForm
from sending.models import AccountKind
from sending.tests.factories import SendingAccountFactory

pytestmark = pytest.mark.django_db


def _form(port: int) -> AccountForm:
    return AccountForm(
        data={
            "name": "Mail",
            "kind": AccountKind.SMTP,
            "from_email": "news@example.com",
            "smtp_host": "smtp.example.com",
            "smtp_port": port,
            "smtp_security": "starttls",
            "daily_limit": 100,
            "min_interval_seconds": 1,
        }
    )


@pytest.mark.parametrize("port", [25, 465, 587, 2525])
def test_mail_ports_are_accepted(settings, port):
    settings.SENDING_ALLOW_PRIVATE_HOSTS = False
    form = _form(port)
    form.is_valid()
    assert "smtp_port" not in form.errors


@pytest.mark.parametrize("port", [6379, 80, 5432, 11211])
def test_other_ports_are_refused_unless_configured(settings, port):
    settings.SENDING_ALLOW_PRIVATE_HOSTS = False
    form = _form(port)
    assert not form.is_valid()
    assert f"Port {port} is not allowed" in form.errors["smtp_port"][0]
    settings.SENDING_SMTP_PORTS = [port]
    form = _form(port)
    form.is_valid()
    assert "smtp_port" not in form.errors


def test_a_saved_account_on_another_port_never_connects(settings, smtp_sink, monkeypatch):
    # An account saved before the rule, or with the setting changed since: refused at connect
    # time, before any connection. (Its host passes as public here, so that the port is what
    # is refused.)
    monkeypatch.setattr("sending.network.address_allowed", lambda address: True)
    account = SendingAccountFactory.create(smtp_host=smtp_sink.host, smtp_port=smtp_sink.port)
    settings.SENDING_ALLOW_PRIVATE_HOSTS = False
    outcome = services.account_test(account=account)
    assert not outcome.success
    assert outcome.message.startswith(f"Port refused: Port {smtp_sink.port} is not allowed")
    assert smtp_sink.connections == 0
