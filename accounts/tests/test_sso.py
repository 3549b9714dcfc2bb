"""Single sign-on through a real OpenID Connect provider on loopback (core.testing.oidc):
the whole code flow, with the provider's answers altered the ways an attacker could."""

from __future__ import annotations

import urllib.parse

import pytest
import requests
from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.audit.models import AuditEntry
from accounts.models import Membership, User
from accounts.tests.factories import PASSWORD, UserFactory
from core.testing.oidc import new_key
from core.testing.russian import RUSSIAN, assert_russian

pytestmark = pytest.mark.django_db


def through_provider(client: Client, next_url: str = "") -> requests.Response:
    """Press the button and let the provider approve: its answer, the redirect back."""
    start = client.get(reverse("accounts:sso_start"), {"next": next_url} if next_url else {})
    assert start.status_code == 302
    answer = requests.get(start["Location"], allow_redirects=False, timeout=10)
    assert answer.status_code == 302
    return answer


def back_to_postroom(client: Client, answer: requests.Response, **changes: str):
    """Follow the provider's redirect to the callback, with query parameters changed."""
    location = urllib.parse.urlsplit(answer.headers["Location"])
    query = dict(urllib.parse.parse_qsl(location.query)) | changes
    return client.get(location.path, query)


def sso_sign_in(client: Client, **changes: str):
    return back_to_postroom(client, through_provider(client), **changes)


def signed_in_as(client: Client) -> User | None:
    user_id = client.session.get("_auth_user_id")
    return User.objects.get(pk=user_id) if user_id else None


def refusal_text(client: Client) -> str:
    return client.get(reverse("accounts:login")).content.decode()


def test_an_existing_user_signs_in_by_verified_address(oidc_provider):
    ada = UserFactory.create(email="ada@example.test")
    oidc_provider.user["email"] = "Ada@Example.test"
    client = Client()

    response = sso_sign_in(client)

    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard")
    assert signed_in_as(client) == ada
    entry = AuditEntry.objects.get(action="user.signed_in")
    assert (entry.actor, entry.detail) == (ada, {"method": "sso"})
    # The request carried PKCE and the token request proved it (the provider checks it).
    assert oidc_provider.token_requests[0]["code_verifier"]


def test_next_page_is_kept_through_the_provider(oidc_provider):
    UserFactory.create(email="ada@example.test")
    client = Client()
    response = back_to_postroom(client, through_provider(client, next_url="/campaigns/"))
    assert response["Location"] == "/campaigns/"


def test_an_unverified_address_is_refused_and_nothing_is_linked(oidc_provider):
    ada = UserFactory.create(email="ada@example.test")
    oidc_provider.user["email_verified"] = False
    client = Client()

    response = sso_sign_in(client)

    assert response["Location"] == reverse("accounts:login")
    assert signed_in_as(client) is None
    assert "has not verified your e-mail address" in refusal_text(client)
    failed = AuditEntry.objects.get(action="user.sign_in_failed")
    assert failed.actor_email == "ada@example.test"
    assert failed.detail == {"method": "sso", "reason": "unverified"}
    ada.refresh_from_db()
    assert ada.check_password(PASSWORD)


def test_an_unknown_user_is_refused_when_sign_up_is_off(oidc_provider):
    oidc_provider.user["email"] = "new@example.test"
    client = Client()
    sso_sign_in(client)
    assert signed_in_as(client) is None
    assert not User.objects.filter(email="new@example.test").exists()
    assert "There is no Postroom account for this address" in refusal_text(client)


def test_an_unknown_user_gets_an_account_and_workspace_when_sign_up_is_on(oidc_provider, settings):
    settings.SSO_ALLOW_SIGNUP = True
    oidc_provider.user.update(email="new@example.test", given_name="Nia")
    client = Client()

    response = sso_sign_in(client)

    new = User.objects.get(email="new@example.test")
    assert signed_in_as(client) == new
    assert response["Location"] == reverse("dashboard")
    assert new.is_verified
    assert not new.has_usable_password()
    assert new.first_name == "Nia"
    membership = Membership.objects.get(user=new)
    assert (membership.role, membership.workspace.name) == ("owner", "Nia's workspace")
    assert client.get(reverse("dashboard")).status_code == 200


def test_an_unverified_unknown_user_is_not_created_even_when_sign_up_is_on(oidc_provider, settings):
    settings.SSO_ALLOW_SIGNUP = True
    oidc_provider.user.update(email="new@example.test", email_verified=False)
    sso_sign_in(Client())
    assert not User.objects.filter(email="new@example.test").exists()


def test_an_address_outside_the_allowed_domains_is_refused(oidc_provider, settings):
    settings.SSO_ALLOWED_DOMAINS = ["corp.test"]
    UserFactory.create(email="ada@example.test")
    client = Client()
    sso_sign_in(client)
    assert signed_in_as(client) is None
    assert "Addresses of this domain may not sign in" in refusal_text(client)


def test_a_local_account_never_confirmed_loses_its_password_when_claimed(oidc_provider):
    squatter = UserFactory.create(email="ada@example.test", email_verified_at=None)
    client = Client()
    sso_sign_in(client)
    squatter.refresh_from_db()
    assert signed_in_as(client) == squatter
    assert squatter.is_verified
    assert not squatter.has_usable_password()


def test_a_blocked_user_is_refused(oidc_provider):
    UserFactory.create(email="ada@example.test", is_active=False)
    client = Client()
    sso_sign_in(client)
    assert signed_in_as(client) is None


def test_a_tampered_state_is_refused(oidc_provider):
    UserFactory.create(email="ada@example.test")
    client = Client()
    response = sso_sign_in(client, state="forged-state")
    assert response["Location"] == reverse("accounts:login")
    assert signed_in_as(client) is None
    assert oidc_provider.token_requests == []  # the code was never exchanged
    assert AuditEntry.objects.get(action="user.sign_in_failed").detail["reason"] == "invalid"


def test_a_state_is_good_for_one_callback_only(oidc_provider):
    UserFactory.create(email="ada@example.test")
    client = Client()
    answer = through_provider(client)
    back_to_postroom(client, answer)
    client.logout()
    back_to_postroom(client, answer)
    assert signed_in_as(client) is None


def test_a_token_with_another_nonce_is_refused(oidc_provider):
    UserFactory.create(email="ada@example.test")
    oidc_provider.id_token_extra = {"nonce": "another-nonce"}
    client = Client()
    sso_sign_in(client)
    assert signed_in_as(client) is None
    assert "could not be checked" in refusal_text(client)


def test_a_token_signed_by_another_key_is_refused(oidc_provider):
    UserFactory.create(email="ada@example.test")
    oidc_provider.sign_with = new_key()
    client = Client()
    sso_sign_in(client)
    assert signed_in_as(client) is None


@pytest.mark.parametrize(
    "claims", [{"aud": "another-client"}, {"iss": "http://127.0.0.1:1"}, {"exp": 1000}]
)
def test_a_token_for_another_client_or_issuer_or_expired_is_refused(oidc_provider, claims):
    UserFactory.create(email="ada@example.test")
    oidc_provider.id_token_extra = claims
    client = Client()
    sso_sign_in(client)
    assert signed_in_as(client) is None


def test_the_provider_saying_no_is_refused(oidc_provider):
    oidc_provider.deny = True
    client = Client()
    sso_sign_in(client)
    assert signed_in_as(client) is None
    assert "did not sign you in" in refusal_text(client)


def test_refusals_count_towards_the_lockout(oidc_provider, settings):
    settings.AXES_FAILURE_LIMIT = 2
    UserFactory.create(email="ada@example.test")
    oidc_provider.user["email_verified"] = False
    client = Client()
    sso_sign_in(client)
    locked = sso_sign_in(client)
    assert locked.status_code == 429
    assert AccessAttempt.objects.get(username="ada@example.test").failures_since_start == 2
    # Verified now, the address is still locked from this client: no way around the lock.
    oidc_provider.user["email_verified"] = True
    sso_sign_in(client)
    assert signed_in_as(client) is None


def test_a_user_with_two_factor_types_the_code_after_the_provider(oidc_provider):
    ada = UserFactory.create(email="ada@example.test")
    TOTPDevice.objects.create(user=ada, name="app", confirmed=True)
    client = Client()
    response = sso_sign_in(client)
    assert response["Location"] == reverse("accounts:login_code")
    assert signed_in_as(client) is None


def test_trusting_the_provider_skips_the_code_unless_a_workspace_requires_it(
    oidc_provider, settings, personas
):
    settings.SSO_SKIP_TWO_FACTOR = True
    TOTPDevice.objects.create(user=personas.owner, name="app", confirmed=True)
    oidc_provider.user["email"] = personas.owner.email
    client = Client()
    sso_sign_in(client)
    assert signed_in_as(client) == personas.owner

    personas.workspace.require_two_factor = True
    personas.workspace.save(update_fields=["require_two_factor"])
    other = Client()
    assert sso_sign_in(other)["Location"] == reverse("accounts:login_code")
    assert signed_in_as(other) is None


def test_sso_is_off_when_not_configured(settings, client):
    settings.SSO_ENABLED = False
    assert client.get(reverse("accounts:sso_start")).status_code == 404
    assert (
        client.get(reverse("accounts:sso_callback"), {"code": "x", "state": "y"}).status_code == 404
    )
    assert 'data-testid="sso-button"' not in client.get(reverse("accounts:login")).content.decode()


def test_the_button_carries_the_configured_label(oidc_provider, settings, client):
    page = client.get(reverse("accounts:login")).content.decode()
    assert "Sign in with single sign-on" in page
    settings.SSO_BUTTON_LABEL = "Sign in with Corp ID"
    assert "Sign in with Corp ID" in client.get(reverse("accounts:login")).content.decode()


def test_the_button_and_a_refusal_speak_russian(oidc_provider):
    UserFactory.create(email="ada@example.test")
    oidc_provider.user["email_verified"] = False
    client = Client(headers=RUSSIAN)
    sso_sign_in(client)
    assert_russian(
        client.get(reverse("accounts:login")),
        russian=["Войти через единый вход (SSO)", "Поставщик удостоверений не подтвердил"],
        english=["Sign in with single sign-on", "has not verified"],
    )


def test_a_provider_that_cannot_be_reached_is_said_so_on_the_sign_in_page(oidc_provider, settings):
    oidc_provider.stop()
    settings.OIDC_DISCOVERY_URL = f"{oidc_provider.issuer}/moved/.well-known/openid-configuration"
    client = Client()
    response = client.get(reverse("accounts:sso_start"))
    assert response["Location"] == reverse("accounts:login")
    assert "The identity provider cannot be reached" in refusal_text(client)


def test_the_code_typed_after_the_provider_is_logged_as_a_single_sign_on(oidc_provider):
    ada = UserFactory.create(email="ada@example.test")
    device = TOTPDevice.objects.create(user=ada, name="app", confirmed=True)
    client = Client()
    sso_sign_in(client)
    client.post(reverse("accounts:login_code"), {"code": f"{totp(device.bin_key):06d}"})
    assert signed_in_as(client) == ada
    assert AuditEntry.objects.get(action="user.signed_in").detail == {"method": "sso"}
