"""Signing up from an invitation link keeps the invitation: confirming the address joins the
invited workspace, and the first sign-in lands in it."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Invitation, Membership, Role
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-and-unusual-passphrase"


def link_of(message, path: str) -> str:
    match = re.search(rf"https?://[^/\s]+({path}\S*)", message.text)
    assert match, message.text
    return match.group(1)


def invite(owner_client, smtp_sink, email: str, role: str = Role.EDITOR) -> str:
    owner_client.post(reverse("accounts:invite"), {"email": email, "role": role})
    [message] = smtp_sink.wait_for(1)
    smtp_sink.reset()
    return link_of(message, "/accounts/invitations/")


def test_signing_up_from_an_invitation_lands_in_the_invited_workspace(
    personas, owner_client, smtp_sink
):
    link = invite(owner_client, smtp_sink, "nina@example.test")
    browser = Client()

    welcome = browser.get(link)
    page = welcome.content.decode()
    assert welcome.status_code == 200
    assert "Join “Acme”" in page
    found = re.search(r'href="(/accounts/signup/\?invitation=[^"]+)"', page)
    assert found, page
    signup_url = found.group(1)
    form = browser.get(signup_url.replace("&amp;", "&")).content.decode()
    assert 'value="nina@example.test"' in form  # the invited address, filled in
    token = signup_url.split("invitation=", 1)[1]
    browser.post(
        reverse("accounts:signup"),
        {"email": "nina@example.test", "password": PASSWORD, "invitation": token},
    )
    [message] = smtp_sink.wait_for(1)
    verify = link_of(message, "/accounts/verify/")
    assert "invitation=" in verify

    # The link is opened in another browser (a phone, a mail client's viewer).
    elsewhere = Client()
    confirmed = elsewhere.get(verify, follow=True).content.decode()
    assert "You joined “Acme” as editor." in confirmed
    membership = Membership.objects.get(
        workspace=personas.workspace, user__email="nina@example.test"
    )
    assert membership.role == Role.EDITOR
    assert Invitation.objects.get(email="nina@example.test").accepted_at is not None

    elsewhere.post(
        reverse("accounts:login"), {"username": "nina@example.test", "password": PASSWORD}
    )
    dashboard = elsewhere.get(reverse("dashboard"))
    assert dashboard.context["current_workspace"] == personas.workspace


def test_an_invited_person_with_an_account_is_offered_to_sign_in_and_comes_back(
    personas, owner_client, smtp_sink
):
    UserFactory.create(email="has@example.test", password=PASSWORD)
    link = invite(owner_client, smtp_sink, "has@example.test")
    page = Client().get(link).content.decode()
    assert "Sign in to join" in page
    assert "next=%2Faccounts%2Finvitations%2F" in page


def test_a_dead_invitation_link_says_so_to_someone_signed_out(personas, owner_client, smtp_sink):
    link = invite(owner_client, smtp_sink, "gone@example.test")
    Invitation.objects.all().delete()
    response = Client().get(link)
    assert response.status_code == 404
    assert "This invitation does not work" in response.content.decode()


def test_a_verification_link_with_an_invitation_for_another_address_joins_nothing(
    personas, owner_client, smtp_sink
):
    link = invite(owner_client, smtp_sink, "someone@example.test")
    token = link.rstrip("/").rsplit("/", 1)[1]
    browser = Client()
    browser.post(
        reverse("accounts:signup"),
        {"email": "other@example.test", "password": PASSWORD, "invitation": token},
    )
    [message] = smtp_sink.wait_for(1)
    page = browser.get(link_of(message, "/accounts/verify/"), follow=True).content.decode()
    assert "no longer valid" in page
    assert not Membership.objects.filter(
        workspace=personas.workspace, user__email="other@example.test"
    ).exists()
