import re

import pytest
from django.urls import reverse

from accounts.models import Membership, Role, User
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SIGNUP = {
    "email": "New.Person@Example.test",
    "first_name": "Nina",
    "last_name": "Person",
    "password": "a-long-and-unusual-passphrase",
}


def link_in(message) -> str:
    match = re.search(r"https?://\S+", message.text)
    assert match, message.text
    return match.group(0)


def login(client, email, password):
    return client.post(reverse("accounts:login"), {"username": email, "password": password})


def test_signup_sends_a_real_verification_email_and_creates_a_personal_workspace(client, smtp_sink):
    response = client.post(reverse("accounts:signup"), SIGNUP)

    assert response.status_code == 302
    assert response.url == reverse("accounts:signup_done")
    user = User.objects.get()
    assert user.email == "new.person@example.test"
    assert user.email_verified_at is None
    membership = Membership.objects.get(user=user)
    assert membership.role == Role.OWNER
    assert membership.workspace.name == "Nina's workspace"
    [message] = smtp_sink.wait_for(1)
    assert message.rcpt_tos == ["new.person@example.test"]
    assert "Confirm your e-mail address" in message.subject
    assert "/accounts/verify/" in link_in(message)
    assert message.html
    assert "Confirm my address" in message.html


def test_the_account_is_unusable_until_the_link_is_opened(client, smtp_sink):
    client.post(reverse("accounts:signup"), SIGNUP)
    [message] = smtp_sink.wait_for(1)

    refused = login(client, SIGNUP["email"], SIGNUP["password"])
    assert refused.status_code == 200
    assert "not confirmed yet" in refused.content.decode()
    assert "_auth_user_id" not in client.session

    opened = client.get(link_in(message))
    assert opened.status_code == 302
    assert User.objects.get().email_verified_at is not None

    accepted = login(client, SIGNUP["email"], SIGNUP["password"])
    assert accepted.status_code == 302
    assert client.get(reverse("dashboard")).status_code == 200


def test_opening_the_link_twice_is_harmless(client, smtp_sink):
    client.post(reverse("accounts:signup"), SIGNUP)
    link = link_in(smtp_sink.wait_for(1)[0])
    assert client.get(link).status_code == 302
    assert client.get(link).status_code == 302


def test_a_forged_link_is_refused_with_a_way_to_get_a_new_one(client):
    response = client.get(reverse("accounts:verify_email", kwargs={"token": "forged:token"}))
    assert response.status_code == 400
    body = response.content.decode()
    assert "This verification link is not valid." in body
    assert reverse("accounts:resend_verification") in body


def test_an_expired_link_says_so(client, smtp_sink, settings):
    client.post(reverse("accounts:signup"), SIGNUP)
    link = link_in(smtp_sink.wait_for(1)[0])
    settings.EMAIL_VERIFICATION_MAX_AGE = -1
    response = client.get(link)
    assert response.status_code == 400
    assert "expired" in response.content.decode()
    assert User.objects.get().email_verified_at is None


def test_resend_sends_a_new_link_only_to_unconfirmed_accounts(client, smtp_sink):
    client.post(reverse("accounts:signup"), SIGNUP)
    smtp_sink.wait_for(1)
    smtp_sink.reset()

    response = client.post(reverse("accounts:resend_verification"), {"email": SIGNUP["email"]})
    assert response.status_code == 302
    [again] = smtp_sink.wait_for(1)
    assert client.get(link_in(again)).status_code == 302

    smtp_sink.reset()
    client.post(reverse("accounts:resend_verification"), {"email": SIGNUP["email"]})
    client.post(reverse("accounts:resend_verification"), {"email": "nobody@example.test"})
    assert smtp_sink.messages == []


def test_an_address_can_sign_up_once_whatever_its_case(client, smtp_sink):
    client.post(reverse("accounts:signup"), SIGNUP)
    smtp_sink.wait_for(1)
    response = client.post(
        reverse("accounts:signup"), {**SIGNUP, "email": "NEW.PERSON@example.TEST"}
    )
    assert response.status_code == 302
    assert User.objects.count() == 1


def signup_page_after(client, data) -> str:
    """The page a sign-up ends on, its CSRF tokens (different on every page) blanked."""
    response = client.post(reverse("accounts:signup"), data, follow=True)
    assert response.redirect_chain == [(reverse("accounts:signup_done"), 302)]
    return re.sub(r'(content|value)="[A-Za-z0-9]{64}"', "TOKEN", response.content.decode())


def test_sign_up_does_not_say_whether_an_address_has_an_account(client, smtp_sink):
    """As password reset: the same answer either way; the address's owner is told by e-mail."""
    taken = UserFactory.create(email="taken@example.test", first_name="Tess")
    before = (taken.password, taken.first_name)

    for_taken = signup_page_after(client, {**SIGNUP, "email": "Taken@example.test"})
    for_new = signup_page_after(client, SIGNUP)

    assert for_taken.replace("taken@example.test", "ADDRESS") == for_new.replace(
        "new.person@example.test", "ADDRESS"
    )
    assert "already" not in for_taken
    notice, confirmation = smtp_sink.wait_for(2)
    assert notice.rcpt_tos == ["taken@example.test"]
    assert notice.subject == "Someone tried to sign up for Postroom with your address"
    assert "already has an account, so nothing was created" in notice.html
    assert reverse("accounts:password_reset") in notice.text
    assert confirmation.rcpt_tos == ["new.person@example.test"]
    # Nothing changed for the existing account, and no second account exists.
    taken.refresh_from_db()
    assert (taken.password, taken.first_name) == before
    assert User.objects.filter(email__iexact="taken@example.test").count() == 1
    assert not Membership.objects.filter(user=taken).exists()  # no workspace made for it


def test_a_sign_up_with_an_unconfirmed_address_sends_its_link_again(client, smtp_sink):
    client.post(reverse("accounts:signup"), SIGNUP)
    smtp_sink.wait_for(1)
    smtp_sink.reset()
    signup_page_after(client, {**SIGNUP, "password": "some-other-long-passphrase"})
    [again] = smtp_sink.wait_for(1)
    assert "Confirm your e-mail address" in again.subject
    assert client.get(link_in(again)).status_code == 302
    user = User.objects.get()
    assert user.check_password(SIGNUP["password"])  # the second sign-up changed nothing


def test_notices_of_sign_ups_with_a_taken_address_are_limited_per_hour(client, smtp_sink, settings):
    UserFactory.create(email="taken@example.test")
    for _ in range(settings.PASSWORD_RESET_MAILS_PER_HOUR + 2):
        signup_page_after(client, {**SIGNUP, "email": "taken@example.test"})
    smtp_sink.wait_for(settings.PASSWORD_RESET_MAILS_PER_HOUR)
    assert len(smtp_sink.messages) == settings.PASSWORD_RESET_MAILS_PER_HOUR


def test_weak_passwords_are_refused_with_the_reason(client, smtp_sink):
    response = client.post(reverse("accounts:signup"), {**SIGNUP, "password": "12345678"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "too short" in body or "too common" in body
    assert not User.objects.exists()
    assert smtp_sink.messages == []


def test_a_mail_server_that_is_down_loses_no_sign_up(client, smtp_sink):
    smtp_sink.stop()
    try:
        response = client.post(reverse("accounts:signup"), SIGNUP, follow=True)
    finally:
        smtp_sink.start()
    body = response.content.decode()
    assert "could not send the confirmation e-mail" in body
    assert "refused the connection" in body
    assert User.objects.filter(email="new.person@example.test").exists()

    client.post(reverse("accounts:resend_verification"), {"email": SIGNUP["email"]})
    assert client.get(link_in(smtp_sink.wait_for(1)[0])).status_code == 302
    assert User.objects.get().is_verified


def test_a_refusing_mail_server_is_reported_in_words(client, smtp_sink):
    smtp_sink.set_reply("new.person@example.test", "550 5.1.1 No such mailbox")
    response = client.post(reverse("accounts:signup"), SIGNUP, follow=True)
    assert "could not send the confirmation e-mail" in response.content.decode()
    assert User.objects.exists()


def test_a_sign_up_in_russian_names_the_personal_workspace_in_russian(client, smtp_sink):
    client.cookies["django_language"] = "ru"
    client.post(reverse("accounts:signup"), SIGNUP)
    membership = Membership.objects.get(user__email="new.person@example.test")
    assert membership.workspace.name == "Рабочее пространство Nina"
