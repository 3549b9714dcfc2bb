"""Public sign-up forms, through HTTP: the hosted form, double opt-in by a mailed link that
really arrives at the test SMTP server, the honeypot, suppressed addresses, rate limits and
the proof-of-work challenge."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from urllib.parse import urlsplit

import altcha
import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audience.models import (
    Consent,
    ConsentMethod,
    Recipient,
    Suppression,
    SuppressionReason,
)
from audience.tests.factories import RecipientListFactory
from sending.tests.factories import SendingAccountFactory
from subscriptions.confirmations import confirmations_send_due
from subscriptions.housekeeping import purge_expired_signups
from subscriptions.models import PendingSignup
from subscriptions.tests.factories import SignupFormFactory
from subscriptions.tokens import make_token

pytestmark = pytest.mark.django_db

THANKS = "a message is on its way"


@pytest.fixture
def newsletter(personas):
    return RecipientListFactory.create(workspace=personas.workspace, name="Newsletter")


@pytest.fixture
def signup(personas, newsletter, smtp_sink):
    account = SendingAccountFactory.create(
        workspace=personas.workspace,
        smtp_host=smtp_sink.host,
        smtp_port=smtp_sink.port,
        from_email="news@acme.example",
    )
    return SignupFormFactory.create(
        workspace=personas.workspace,
        lists=[newsletter],
        fields=["first_name"],
        sending_account=account,
    )


def post(form, client=None, **data):
    client = client or Client()
    return client.post(reverse("subscribe:form", kwargs={"form_key": form.public_key}), data)


def mailed_link(smtp_sink, address):
    [message] = [m for m in smtp_sink.messages if address in m.rcpt_tos]
    found = re.search(r"https?://\S+/s/confirm/\S+/", message.text or "")
    assert found is not None
    return found.group(0)


def follow(link, client=None):
    path = urlsplit(link).path
    client = client or Client()
    assert client.get(path).status_code == 200  # a page with a button: scanners confirm nothing
    return client.post(path)


def test_the_hosted_page_shows_the_fields_asked_and_a_hidden_honeypot(signup):
    response = Client().get(reverse("subscribe:form", kwargs={"form_key": signup.public_key}))
    body = response.content.decode()
    assert response.status_code == 200
    assert 'name="email"' in body
    assert 'name="first_name"' in body
    assert 'name="website"' in body
    assert 'tabindex="-1"' in body
    assert "altcha" not in body  # no challenge asked: the form needs no script


def test_the_confirmation_mail_arrives_and_its_link_joins_the_lists(
    signup, newsletter, smtp_sink, owner_client
):
    response = post(signup, email="Ann@Example.com", first_name="Ann")
    assert response.status_code == 200
    assert THANKS in response.content.decode()
    assert not newsletter.recipients.exists()  # not before the link is followed

    confirmations_send_due(now=timezone.now())
    link = mailed_link(smtp_sink, "ann@example.com")
    [message] = smtp_sink.messages
    assert message.subject == "Please confirm your subscription"
    assert "Hello Ann," in message.text
    assert message.mail_from == "news@acme.example"

    answer = follow(link)
    assert answer.status_code == 200
    assert "You are subscribed" in answer.content.decode()
    ann = Recipient.objects.get(workspace=signup.workspace, email="ann@example.com")
    assert ann.first_name == "Ann"
    assert list(newsletter.recipients.all()) == [ann]
    [consent] = Consent.objects.filter(recipient=ann)
    assert consent.method == ConsentMethod.DOUBLE
    assert consent.confirmed_at is not None
    assert consent.confirmed_ip == "127.0.0.0"  # truncated, as the workspace keeps readers'
    page = owner_client.get(reverse("audience:recipient_detail", kwargs={"recipient_id": ann.pk}))
    assert "Confirmed by e-mail (double opt-in)" in page.content.decode()
    assert "127.0.0.0" in page.content.decode()


def test_no_ip_is_kept_when_the_workspace_keeps_none(signup, smtp_sink):
    signup.workspace.reader_ips = "none"
    signup.workspace.save(update_fields=["reader_ips"])
    post(signup, email="ann@example.com")
    confirmations_send_due(now=timezone.now())
    follow(mailed_link(smtp_sink, "ann@example.com"))
    consent = Consent.objects.get()
    assert consent.signed_up_ip is None
    assert consent.confirmed_ip is None


def test_a_filled_honeypot_gets_the_same_answer_and_nothing_happens(signup, smtp_sink):
    response = post(signup, email="bot@example.com", website="http://spam.example")
    assert response.status_code == 200
    assert THANKS in response.content.decode()
    assert not PendingSignup.objects.exists()
    confirmations_send_due(now=timezone.now())
    assert smtp_sink.messages == []


def test_without_the_honeypot_the_sign_up_waits_for_its_confirmation(signup):
    post(signup, email="ann@example.com", website="")
    pending = PendingSignup.objects.get()
    assert pending.email == "ann@example.com"
    assert pending.confirmed_at is None


def test_a_suppressed_address_gets_the_same_answer_and_no_mail(signup, smtp_sink):
    Suppression.objects.create(
        workspace=signup.workspace, email="gone@example.com", reason=SuppressionReason.COMPLAINED
    )
    known = post(signup, email="new@example.com").content.decode()
    suppressed = post(signup, email="gone@example.com").content.decode()
    assert suppressed == known
    confirmations_send_due(now=timezone.now())
    assert [m.rcpt_tos for m in smtp_sink.messages] == [["new@example.com"]]
    assert not PendingSignup.objects.filter(email="gone@example.com").exists()


def mailed_token(link: str) -> str:
    """The signed token in a confirmation link (the path's last non-empty part)."""
    return [part for part in link.split("/") if part][-1]


def test_a_forged_link_joins_nobody(signup, smtp_sink, newsletter):
    post(signup, email="ann@example.com")
    confirmations_send_due(now=timezone.now())
    link = mailed_link(smtp_sink, "ann@example.com")
    pending = PendingSignup.objects.get()
    forged = [
        link[:-6] + ("A" if link[-6] != "A" else "B") + link[-5:],  # one character changed
        # A token signed rightly for a nonce that is not the sign-up's. The mailed token is
        # cut out of the link: made again now, it would carry another second's timestamp.
        link.replace(mailed_token(link), make_token(pending.pk, "guessed")),
    ]
    assert forged[1] != link
    for url in forged:
        answer = follow(url)
        assert answer.status_code == 400
        assert "This link does not work" in answer.content.decode()
    assert not newsletter.recipients.exists()


def test_an_expired_link_joins_nobody_and_housekeeping_drops_the_sign_up(
    signup, smtp_sink, newsletter, time_machine, settings
):
    time_machine.move_to("2026-11-21 10:00:00Z", tick=False)
    post(signup, email="ann@example.com")
    confirmations_send_due(now=timezone.now())
    link = mailed_link(smtp_sink, "ann@example.com")
    time_machine.shift(timedelta(seconds=settings.SIGNUP_CONFIRM_MAX_AGE + 1))
    answer = follow(link)
    assert answer.status_code == 400
    assert "expired" in answer.content.decode()
    assert not newsletter.recipients.exists()
    assert purge_expired_signups(now=timezone.now()) == 1
    assert not PendingSignup.objects.exists()


def test_a_link_followed_twice_joins_once(signup, smtp_sink, newsletter):
    post(signup, email="ann@example.com")
    confirmations_send_due(now=timezone.now())
    link = mailed_link(smtp_sink, "ann@example.com")
    assert "You are subscribed" in follow(link).content.decode()
    again = follow(link)
    assert again.status_code == 200
    assert "Already confirmed" in again.content.decode()
    assert newsletter.recipients.count() == 1
    assert Consent.objects.count() == 1


def test_a_confirmation_is_sent_once_even_if_the_step_runs_again(signup, smtp_sink):
    post(signup, email="ann@example.com")
    confirmations_send_due(now=timezone.now())
    confirmations_send_due(now=timezone.now() + timedelta(hours=1))
    assert len(smtp_sink.messages) == 1


def test_a_thousand_posts_a_minute_from_one_address_are_throttled(signup, settings):
    # Counted per hour here: a busy machine may take over a minute to post a thousand forms,
    # and Redis (the cache of the PostgreSQL runs) expires its counters on its own clock.
    settings.SIGNUP_IP_RATE = "10/hour"
    client = Client(REMOTE_ADDR="198.51.100.7")
    with time_machine.travel(time.time(), tick=False):
        statuses = [
            post(signup, client, email=f"p{n}@example.com").status_code for n in range(1000)
        ]
        last = post(signup, client, email="late@example.com")
    assert statuses[:10] == [200] * 10
    assert set(statuses[10:]) == {429}
    assert "Too many sign-ups came from your network" in last.content.decode()
    assert 1 <= int(last["Retry-After"]) <= 3600
    assert PendingSignup.objects.count() == 10
    # Another client is not held back by this one.
    assert post(signup, Client(REMOTE_ADDR="203.0.113.9"), email="x@example.com").status_code == 200


def test_one_address_signed_up_too_often_is_throttled(signup, settings):
    settings.SIGNUP_ADDRESS_RATE = "3/hour"
    statuses = [
        post(signup, Client(REMOTE_ADDR=f"192.0.2.{n}"), email="ann@example.com").status_code
        for n in range(1, 5)
    ]
    assert statuses == [200, 200, 200, 429]


def test_a_single_opt_in_list_is_joined_at_once_without_mail(signup, smtp_sink, personas):
    quick = RecipientListFactory.create(
        workspace=personas.workspace, name="Offers", single_opt_in=True
    )
    signup.lists.set([quick])
    assert post(signup, email="ann@example.com").status_code == 200
    assert quick.recipients.get().email == "ann@example.com"
    assert Consent.objects.get().method == ConsentMethod.SINGLE
    confirmations_send_due(now=timezone.now())
    assert smtp_sink.messages == []


def test_an_invalid_address_is_shown_again_with_its_error(signup):
    response = post(signup, email="not an address")
    assert response.status_code == 400
    assert not PendingSignup.objects.exists()


def test_the_challenge_must_be_solved_once_per_sign_up(signup, settings):
    settings.ALTCHA_COST = 50
    signup.require_challenge = True
    signup.save(update_fields=["require_challenge"])
    page = Client().get(reverse("subscribe:form", kwargs={"form_key": signup.public_key}))
    assert "altcha-widget" in page.content.decode()
    assert post(signup, email="ann@example.com").status_code == 400

    url = reverse("subscribe:challenge", kwargs={"form_key": signup.public_key})
    challenge = altcha.Challenge.from_dict(Client().get(url).json())
    solution = altcha.solve_challenge(challenge)
    assert solution is not None
    payload = altcha.Payload(challenge, solution).to_base64()
    assert post(signup, email="ann@example.com", altcha=payload).status_code == 200
    assert post(signup, email="bob@example.com", altcha=payload).status_code == 400  # replayed


def test_a_challenge_of_another_form_is_refused(signup, personas, newsletter, settings):
    settings.ALTCHA_COST = 50
    other = SignupFormFactory.create(
        workspace=personas.workspace, lists=[newsletter], require_challenge=True
    )
    signup.require_challenge = True
    signup.save(update_fields=["require_challenge"])
    url = reverse("subscribe:challenge", kwargs={"form_key": other.public_key})
    challenge = altcha.Challenge.from_dict(Client().get(url).json())
    solution = altcha.solve_challenge(challenge)
    assert solution is not None
    payload = altcha.Payload(challenge, solution).to_base64()
    assert post(signup, email="ann@example.com", altcha=payload).status_code == 400


def test_the_page_takes_the_workspace_colour(signup):
    signup.workspace.signup_color = "#aa3300"
    signup.workspace.save(update_fields=["signup_color"])
    css = Client().get(reverse("subscribe:style", kwargs={"form_key": signup.public_key}))
    assert "#aa3300" in css.content.decode()


def test_an_unknown_form_answers_404():
    assert post(SignupFormFactory.build(public_key="nothere")).status_code == 404
