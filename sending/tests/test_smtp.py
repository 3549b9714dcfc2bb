"""The SMTP transport against the real test server: AUTH, TLS, timeouts, XOAUTH2, SSRF."""

from __future__ import annotations

import ipaddress
import socket
from datetime import timedelta

import pytest
from django.db import DatabaseError, connection
from django.utils import timezone

from sending import services
from sending.models import AccountStatus, Security, SendingAccount
from sending.network import address_allowed
from sending.tests.factories import SendingAccountFactory, oauth2_account_fields, rendered
from sending.transports.base import OutgoingMessage, SendKind, SendResult
from sending.transports.factory import transport_for
from sending.transports.smtp import SmtpTransport

pytestmark = pytest.mark.django_db


def smtp_account(sink, **kwargs) -> SendingAccount:
    kwargs.setdefault("smtp_host", sink.host)
    kwargs.setdefault("smtp_port", sink.port)
    return SendingAccountFactory.create(**kwargs)


def outgoing(to: str = "reader@example.test", **kwargs) -> OutgoingMessage:
    return OutgoingMessage.from_rendered(rendered(to=to, **kwargs))


def test_a_correct_password_passes_the_test_and_sends_nothing(smtp_sink):
    smtp_sink.require_auth("mailer", "s3cret-pass")
    account = smtp_account(
        smtp_sink, smtp_username="mailer", smtp_password="s3cret-pass", status="pending"
    )
    outcome = services.account_test(account=account)
    assert outcome.success, outcome.message
    assert outcome.message == f"SMTP connection successful for {account.from_email}"
    assert smtp_sink.messages == []
    account.refresh_from_db()
    assert account.status == AccountStatus.ACTIVE
    assert account.last_tested_at is not None


def test_a_wrong_password_fails_in_words_and_puts_the_account_in_error(smtp_sink):
    smtp_sink.require_auth("mailer", "s3cret-pass")
    account = smtp_account(smtp_sink, smtp_username="mailer", smtp_password="wrong")
    outcome = services.account_test(account=account)
    assert not outcome.success
    assert "refused the user name or password" in outcome.message
    assert "535" in outcome.message
    account.refresh_from_db()
    assert account.status == AccountStatus.ERROR
    assert "535" in account.status_reason


def test_a_successful_test_makes_an_account_in_error_active_again(smtp_sink):
    account = smtp_account(smtp_sink, status=AccountStatus.ERROR, status_reason="535 earlier")
    assert services.account_test(account=account).success
    account.refresh_from_db()
    assert (account.status, account.status_reason) == (AccountStatus.ACTIVE, "")


def test_a_test_message_is_sent_only_when_asked(smtp_sink):
    account = smtp_account(smtp_sink)
    outcome = services.account_test(account=account, send_to="check@example.test")
    assert outcome.success, outcome.message
    [message] = smtp_sink.wait_for(1)
    assert message.rcpt_tos == ["check@example.test"]
    assert message.subject == "Postroom test message"


def test_one_connection_serves_many_messages(smtp_sink):
    account = smtp_account(smtp_sink)
    with transport_for(account) as transport:
        results = [transport.send(outgoing(f"r{i}@example.test")) for i in range(3)]
    assert [r.kind for r in results] == [SendKind.SENT] * 3
    assert smtp_sink.connections == 1
    assert [m.rcpt_tos for m in smtp_sink.wait_for(3)] == [[f"r{i}@example.test"] for i in range(3)]


def test_a_refused_recipient_leaves_the_connection_usable(smtp_sink):
    account = smtp_account(smtp_sink)
    with transport_for(account) as transport:
        refused = transport.send(outgoing("nouser+1@example.test"))
        accepted = transport.send(outgoing("fine@example.test"))
    assert refused.kind == SendKind.PERMANENT
    assert refused.suppress
    assert refused.enhanced == "5.1.1"
    assert accepted.ok
    assert smtp_sink.connections == 1


def test_a_connection_lost_after_the_dot_is_ambiguous(smtp_sink):
    smtp_sink.drop_during_data(times=1)
    account = smtp_account(smtp_sink)
    with transport_for(account) as transport:
        lost = transport.send(outgoing("a@example.test"))
        again = transport.send(outgoing("b@example.test"))  # reconnects by itself
    assert lost.kind == SendKind.AMBIGUOUS
    assert again.ok
    assert len(smtp_sink.dropped) == 1


def test_a_421_reply_is_the_accounts_fault(smtp_sink):
    smtp_sink.set_reply("busy@example.test", "421 4.7.0 Too many connections")
    account = smtp_account(smtp_sink)
    with transport_for(account) as transport:
        result = transport.send(outgoing("busy@example.test"))
    assert result.kind == SendKind.CONNECTION


def test_starttls_verifies_the_certificate_trusted_through_the_setting(starttls_sink, settings):
    settings.SENDING_EXTRA_CA_FILE = str(starttls_sink.cert_path)
    account = smtp_account(starttls_sink, smtp_host="localhost", smtp_security=Security.STARTTLS)
    with transport_for(account) as transport:
        assert transport.send(outgoing()).ok
    [message] = starttls_sink.wait_for(1)
    assert message.tls


def test_starttls_refuses_a_certificate_that_is_not_trusted(starttls_sink):
    account = smtp_account(starttls_sink, smtp_host="localhost", smtp_security=Security.STARTTLS)
    outcome = services.account_test(account=account)
    assert not outcome.success
    assert outcome.message.startswith("TLS refused")
    assert starttls_sink.messages == []


def test_starttls_is_required_when_asked_for(smtp_sink):
    account = smtp_account(smtp_sink, smtp_security=Security.STARTTLS)
    outcome = services.account_test(account=account)
    assert outcome.message == "TLS refused: the server offers no STARTTLS"


def test_implicit_tls_verifies_the_certificate(implicit_tls_sink, settings):
    settings.SENDING_EXTRA_CA_FILE = str(implicit_tls_sink.cert_path)
    account = smtp_account(implicit_tls_sink, smtp_host="localhost", smtp_security=Security.TLS)
    outcome = services.account_test(account=account, send_to="tls@example.test")
    assert outcome.success, outcome.message
    [message] = implicit_tls_sink.wait_for(1)
    assert message.tls


def test_a_server_that_never_answers_times_out(smtp_sink, settings):
    settings.SENDING_TIMEOUT = 1
    smtp_sink.hang()
    account = smtp_account(smtp_sink)
    outcome = services.account_test(account=account)
    assert not outcome.success
    assert outcome.message.startswith("Timed out")


def test_a_host_that_does_not_resolve_is_named(db, monkeypatch):
    def no_such_host(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)
    account = SendingAccountFactory.create(smtp_host="mail.nowhere.invalid")
    outcome = services.account_test(account=account)
    assert outcome.message.startswith("Host not found")


def test_a_private_address_is_refused_when_the_setting_is_off(smtp_sink, settings):
    settings.SENDING_ALLOW_PRIVATE_HOSTS = False
    account = smtp_account(smtp_sink)
    outcome = services.account_test(account=account)
    assert not outcome.success
    assert outcome.message.startswith("Private address refused")
    assert smtp_sink.connections == 0


def test_the_connection_goes_to_the_checked_address_not_a_second_lookup(smtp_sink, monkeypatch):
    # The name resolves once, to the sink; a rebinding resolver would answer differently the
    # second time, so a second lookup would fail the test.
    real = socket.getaddrinfo
    answers = iter([[(socket.AF_INET, socket.SOCK_STREAM, 6, "", (smtp_sink.host, 0))]])

    def rebinding(host, *args, **kwargs):
        if host == "mail.rebinding.test":
            return next(answers)  # a second lookup of the name raises StopIteration
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    account = smtp_account(smtp_sink, smtp_host="mail.rebinding.test")
    with transport_for(account) as transport:
        assert transport.send(outgoing()).ok


def test_a_public_name_that_resolves_to_a_private_address_is_refused(settings, monkeypatch, db):
    settings.SENDING_ALLOW_PRIVATE_HOSTS = False
    answer = [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", 25))]
    real = socket.getaddrinfo
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda host, *a, **k: answer if host == "smtp.looks-public.test" else real(host, *a, **k),
    )
    account = SendingAccountFactory.create(smtp_host="smtp.looks-public.test")
    outcome = services.account_test(account=account)
    # Only the name the user gave: what it resolves to inside the network is not told.
    assert outcome.message == "Private address refused: smtp.looks-public.test is not allowed"


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("93.184.216.34", True),
        ("2606:2800:220:1:248:1893:25c8:1946", True),
        ("127.0.0.1", False),
        ("10.0.0.1", False),
        ("172.16.5.4", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("169.254.10.1", False),
        ("100.64.0.1", False),
        ("100.127.255.254", False),
        ("0.0.0.0", False),  # noqa: S104 - an address to refuse, not to bind
        ("224.0.0.1", False),
        ("255.255.255.255", False),
        ("::1", False),
        ("::", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("fd00:ec2::254", False),
        ("ff02::1", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:10.0.0.1", False),
        ("::ffff:169.254.169.254", False),
        ("::ffff:93.184.216.34", True),
    ],
)
def test_only_public_unicast_addresses_are_allowed(address, allowed):
    assert address_allowed(ipaddress.ip_address(address)) is allowed


# --- XOAUTH2 --------------------------------------------------------------------------------


def oauth_account(sink, endpoint, **kwargs) -> SendingAccount:
    return smtp_account(sink, **(oauth2_account_fields(endpoint) | kwargs))


def test_xoauth2_refreshes_an_expired_token_first(smtp_sink, token_endpoint):
    smtp_sink.require_auth("owner@example.com", oauth_token=token_endpoint.token)
    account = oauth_account(smtp_sink, token_endpoint)
    with transport_for(account) as transport:
        assert transport.send(outgoing(from_email="owner@example.com")).ok
    [request] = token_endpoint.requests
    assert request["grant_type"] == "refresh_token"
    assert request["refresh_token"] == "stored-refresh-token"
    assert request["client_secret"] == "client-secret"
    [message] = smtp_sink.wait_for(1)
    assert message.auth_login == "owner@example.com"
    account.refresh_from_db()
    assert account.oauth_access_token == token_endpoint.token
    expires = account.oauth_access_token_expires_at
    assert expires is not None
    assert expires > timezone.now() + timedelta(minutes=50)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT oauth_access_token FROM sending_sendingaccount WHERE id = %s", [account.pk]
        )
        assert token_endpoint.token not in cursor.fetchone()[0]


def test_xoauth2_uses_a_valid_token_without_refreshing(smtp_sink, token_endpoint):
    smtp_sink.require_auth("owner@example.com", oauth_token="still-good")
    account = oauth_account(smtp_sink, token_endpoint)
    account.oauth_access_token = "still-good"
    account.oauth_access_token_expires_at = timezone.now() + timedelta(minutes=30)
    account.save()
    assert services.account_test(account=account).success
    assert token_endpoint.requests == []


def test_a_refused_refresh_token_is_an_auth_failure(smtp_sink, token_endpoint):
    account = oauth_account(smtp_sink, token_endpoint)
    account.oauth_refresh_token = "revoked"
    account.save()
    result = SmtpTransport(account).send(outgoing())
    assert result.kind == SendKind.AUTH
    assert "invalid_grant" in result.reply
    assert smtp_sink.connections == 0 or smtp_sink.messages == []


def test_a_token_that_cannot_be_stored_leaves_no_connection_open(smtp_sink, token_endpoint):
    """Whatever fails while connecting (here the database, storing the refreshed token),
    the half-made connection is closed at once, not left to the garbage collector."""
    smtp_sink.require_auth("owner@example.com", oauth_token=token_endpoint.token)
    account = oauth_account(smtp_sink, token_endpoint)
    SendingAccount.objects.filter(pk=account.pk).delete()  # storing the token fails
    with pytest.raises(DatabaseError):
        SmtpTransport(account).send(outgoing(from_email="owner@example.com"))
    assert token_endpoint.requests
    assert smtp_sink.connections == 1
    assert smtp_sink.wait_until_closed(timeout=5)


def test_an_auth_failure_while_sending_puts_the_account_in_error(smtp_sink):
    smtp_sink.require_auth("mailer", "right")
    account = smtp_account(smtp_sink, smtp_username="mailer", smtp_password="wrong")
    result = services.send_one(account=account, message=rendered())
    assert result.kind == SendKind.AUTH
    account.refresh_from_db()
    assert account.status == AccountStatus.ERROR
    assert account.sent_today == 0  # nothing was sent, so nothing is counted


def test_a_token_endpoint_on_a_private_address_is_refused(smtp_sink, token_endpoint, settings):
    from sending import oauth

    account = oauth_account(smtp_sink, token_endpoint)
    settings.SENDING_ALLOW_PRIVATE_HOSTS = False
    with pytest.raises(oauth.OAuthError, match="must be an https:// address"):
        oauth.refresh(account, timezone.now())
    account.oauth_token_endpoint = token_endpoint.url.replace("http://", "https://")
    with pytest.raises(oauth.OAuthError, match="Private address refused"):
        oauth.refresh(account, timezone.now())
    assert token_endpoint.requests == []


def test_an_eight_bit_body_is_announced_and_arrives_intact(smtp_sink):
    account = smtp_account(smtp_sink)
    message = outgoing()
    raw = message.raw.replace(b"Hello there.", "Grüße, Zoë.".encode())
    with transport_for(account) as transport:
        assert transport.send(message.with_raw(raw)).ok
    [received] = smtp_sink.wait_for(1)
    assert "Grüße, Zoë.".encode() in received.data


def test_an_international_address_goes_with_smtputf8(smtp_sink):
    account = smtp_account(smtp_sink)
    with transport_for(account) as transport:
        assert transport.send(outgoing("zoë@example.test")).ok
    assert smtp_sink.wait_for(1)[0].rcpt_tos == ["zoë@example.test"]


def test_an_international_address_is_refused_where_smtputf8_is_missing():
    from sending.transports.smtp import mail_options

    class OldServer:
        def has_extn(self, name: str) -> bool:
            return name == "8bitmime"

    refused = mail_options(OldServer(), outgoing("zoë@example.test"))  # type: ignore[arg-type]
    assert isinstance(refused, SendResult)
    assert refused.kind == SendKind.PERMANENT
    assert "SMTPUTF8" in refused.reply
    assert mail_options(OldServer(), outgoing("zoe@example.test")) == []  # type: ignore[arg-type]


def test_a_kept_open_connection_the_server_dropped_is_reopened_once(smtp_sink):
    account = smtp_account(smtp_sink)
    with transport_for(account) as transport:
        assert transport.send(outgoing("first@example.test")).ok
        smtp_sink.stop()  # the server closes idle connections, then is back
        smtp_sink.start()
        second = transport.send(outgoing("second@example.test"))
    assert second.ok, second.reply
    assert [m.rcpt_tos for m in smtp_sink.wait_for(2)] == [
        ["first@example.test"],
        ["second@example.test"],
    ]


def test_a_421_ends_the_connection_without_a_second_try(smtp_sink):
    account = smtp_account(smtp_sink)
    smtp_sink.set_reply("gone@example.test", "421 4.3.2 Shutting down")
    with transport_for(account) as transport:
        result = transport.send(outgoing("gone@example.test"))
    assert result.kind == SendKind.CONNECTION
    assert smtp_sink.connections == 1


def test_a_refused_test_address_leaves_the_account_as_it_is(smtp_sink):
    account = smtp_account(smtp_sink)
    outcome = services.account_test(account=account, send_to="nouser+x@example.test")
    assert not outcome.success
    assert "does not exist" in outcome.message
    account.refresh_from_db()
    assert account.status == AccountStatus.ACTIVE


def test_a_stored_token_revoked_before_its_expiry_is_refreshed_once(smtp_sink, token_endpoint):
    smtp_sink.require_auth("owner@example.com", oauth_token=token_endpoint.token)
    account = oauth_account(smtp_sink, token_endpoint)
    account.oauth_access_token = "revoked-early"
    account.oauth_access_token_expires_at = timezone.now() + timedelta(minutes=30)
    account.save()
    outcome = services.account_test(account=account)
    assert outcome.success, outcome.message
    assert len(token_endpoint.requests) == 1


def test_a_fresh_token_that_is_refused_is_an_auth_failure(smtp_sink, token_endpoint):
    smtp_sink.require_auth("owner@example.com", oauth_token="only-this-one")
    account = oauth_account(smtp_sink, token_endpoint)
    result = SmtpTransport(account).send(outgoing())
    assert result.kind == SendKind.AUTH
    assert len(token_endpoint.requests) == 1  # refreshed once (it had expired), not twice
