"""Two-factor sign-in with real TOTP codes (django_otp.oath.totp on a movable clock)."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from accounts import two_factor
from accounts.keys.services import api_key_create
from accounts.models import Role
from accounts.tests.factories import PASSWORD, MembershipFactory, UserFactory
from conftest import client_for

pytestmark = pytest.mark.django_db

START = datetime(2026, 5, 4, 9, 0, 0, tzinfo=UTC)


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def code_of(device: TOTPDevice) -> str:
    """The code the user's app shows now (the clock is time_machine's)."""
    device.refresh_from_db()
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"


def enrol(user, client: Client | None = None) -> tuple[TOTPDevice, list[str]]:
    """Two-factor sign-in on for `user` through the pages, as a person does it (with
    `client`, or a new session; enabling it ends the user's other sessions)."""
    client = client or client_for(user)
    assert client.post(reverse("accounts:two_factor_start")).status_code == 302
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    page = client.post(reverse("accounts:two_factor_setup"), {"code": code_of(device)})
    assert page.status_code == 200, page.content.decode()
    codes = re.findall(r"<li>([a-z2-7]{8})</li>", page.content.decode())
    return TOTPDevice.objects.get(pk=device.pk), codes


def password_step(client: Client, email: str, password: str = PASSWORD):
    return client.post(reverse("accounts:login"), {"username": email, "password": password})


def code_step(client: Client, code: str):
    return client.post(reverse("accounts:login_code"), {"code": code})


def signed_in(client: Client) -> bool:
    return client.get(reverse("accounts:profile")).status_code == 200


def test_enrolment_shows_a_qr_code_drawn_by_the_app_and_ten_codes_once(clock):
    user = UserFactory.create(email="ada@example.test")
    client = client_for(user)
    client.post(reverse("accounts:two_factor_start"))
    setup = client.get(reverse("accounts:two_factor_setup"))
    body = setup.content.decode()
    assert 'src="data:image/svg+xml' in body  # inline, no outside QR service
    device = TOTPDevice.objects.get(user=user)
    assert two_factor.totp_secret(device) in body  # for apps that cannot scan

    wrong = client.post(reverse("accounts:two_factor_setup"), {"code": "000000"})
    assert wrong.status_code == 400
    assert not two_factor.has_two_factor(user)

    done = client.post(reverse("accounts:two_factor_setup"), {"code": code_of(device)})
    codes = re.findall(r"<li>([a-z2-7]{8})</li>", done.content.decode())
    assert len(set(codes)) == 10
    assert done["Cache-Control"] == "no-store"
    assert two_factor.has_two_factor(user)
    # Shown once: the status page tells how many are left, not what they are.
    status = client.get(reverse("accounts:two_factor")).content.decode()
    assert "Recovery codes left: 10" in status
    assert codes[0] not in status


def test_sign_in_asks_for_the_code_after_the_password(clock, caplog):
    user = UserFactory.create(email="ada@example.test")
    device, _codes = enrol(user)
    clock.shift(60)
    client = Client()

    response = password_step(client, "ada@example.test")
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:login_code")
    assert not signed_in(client), "a right password alone does not sign in"

    caplog.set_level(logging.INFO, logger="accounts.audit")
    assert code_step(client, code_of(device)).status_code == 302
    assert signed_in(client)


def test_a_code_is_accepted_once(clock):
    user = UserFactory.create(email="ada@example.test")
    device, _codes = enrol(user)
    clock.shift(60)
    code = code_of(device)
    first = Client()
    password_step(first, user.email)
    assert code_step(first, code).status_code == 302

    second = Client()
    password_step(second, user.email)
    assert code_step(second, code).status_code == 400
    assert not signed_in(second)


def test_a_recovery_code_works_once(clock, caplog):
    user = UserFactory.create(email="ada@example.test")
    _device, codes = enrol(user)
    caplog.set_level(logging.INFO, logger="accounts.audit")
    first = Client()
    password_step(first, user.email)
    assert code_step(first, codes[0].upper()).status_code == 302
    assert signed_in(first)
    assert "two_factor.recovery_code_used" in caplog.text
    assert StaticToken.objects.filter(device__user=user).count() == 9

    again = Client()
    password_step(again, user.email)
    assert code_step(again, codes[0]).status_code == 400
    assert not signed_in(again)


def test_wrong_codes_are_throttled_even_before_a_right_one(clock, settings, caplog):
    user = UserFactory.create(email="ada@example.test")
    device, _codes = enrol(user)
    caplog.set_level(logging.INFO, logger="accounts.audit")
    client = Client()
    password_step(client, user.email)
    for _ in range(settings.TWO_FACTOR_FAILURE_LIMIT):
        assert code_step(client, "123456").status_code == 400
        clock.shift(20)  # past django-otp's own growing delay between tries (1, 2, 4, 8 s)

    refused = code_step(client, code_of(device))
    assert refused.status_code == 429
    assert "Too many wrong codes" in refused.content.decode()
    assert not signed_in(client)
    assert "two_factor.locked" in caplog.text

    # From another client too: the count is the user's, not the address's.
    other = Client(REMOTE_ADDR="192.0.2.99")
    password_step(other, user.email)
    assert code_step(other, code_of(device)).status_code == 429

    clock.shift(settings.TWO_FACTOR_COOLOFF.total_seconds() + 1)
    password_step(client, user.email)
    assert code_step(client, code_of(device)).status_code == 302
    assert signed_in(client)


def test_the_code_step_expires_and_needs_the_password_first(clock, settings):
    user = UserFactory.create(email="ada@example.test")
    device, _codes = enrol(user)
    client = Client()
    assert code_step(client, code_of(device))["Location"] == reverse("accounts:login")

    password_step(client, user.email)
    clock.shift(settings.TWO_FACTOR_PENDING_SECONDS + 1)
    assert code_step(client, code_of(device))["Location"] == reverse("accounts:login")
    assert not signed_in(client)


def test_users_without_a_device_sign_in_with_the_password_alone(client):
    UserFactory.create(email="bob@example.test")
    assert password_step(client, "bob@example.test")["Location"] == reverse("dashboard")
    assert signed_in(client)


def test_disable_needs_a_code_or_the_password(clock):
    user = UserFactory.create(email="ada@example.test")
    device, _codes = enrol(user)
    client = client_for(user)
    url = reverse("accounts:two_factor_disable")
    client.post(url, {"code": "000000", "password": "not-it"})
    assert two_factor.has_two_factor(user)

    clock.shift(60)
    client.post(url, {"code": code_of(device)})
    assert not two_factor.has_two_factor(user)
    assert not StaticToken.objects.filter(device__user=user).exists()

    enrol(user, client)
    client.post(url, {"password": PASSWORD})
    assert not two_factor.has_two_factor(user)


def test_new_recovery_codes_replace_the_old_ones(clock):
    user = UserFactory.create(email="ada@example.test")
    _device, old = enrol(user)
    client = client_for(user)
    page = client.post(reverse("accounts:two_factor_recovery_codes"), {"password": PASSWORD})
    new = re.findall(r"<li>([a-z2-7]{8})</li>", page.content.decode())
    assert len(new) == 10
    assert not set(new) & set(old)

    signing_in = Client()
    password_step(signing_in, user.email)
    assert code_step(signing_in, old[1]).status_code == 400
    clock.shift(60)
    assert code_step(signing_in, new[1]).status_code == 302


# --- Enforcement per workspace --------------------------------------------------------------


def test_an_owner_requires_it_only_with_it_on_for_themselves(clock, personas, owner_client):
    form = {"name": "Acme", "time_zone": "UTC", "require_two_factor": "on"}
    refused = owner_client.post(reverse("accounts:workspace_update"), form)
    assert refused.status_code == 400
    assert "Turn on two-factor sign-in for yourself" in refused.content.decode()
    personas.workspace.refresh_from_db()
    assert not personas.workspace.require_two_factor

    enrol(personas.owner, owner_client)
    assert owner_client.post(reverse("accounts:workspace_update"), form).status_code == 302
    personas.workspace.refresh_from_db()
    assert personas.workspace.require_two_factor


def test_members_without_it_are_sent_to_set_it_up_in_that_workspace_only(clock, personas):
    personas.workspace.require_two_factor = True
    personas.workspace.save()
    editor = client_for(personas.editor)

    sent = editor.get(reverse("audience:lists"), follow=True)
    assert sent.redirect_chain[-1][0] == reverse("accounts:two_factor")
    assert "“Acme” requires two-factor sign-in" in sent.content.decode()
    assert editor.get(reverse("dashboard"))["Location"] == reverse("accounts:two_factor")
    assert editor.get(reverse("accounts:profile")).status_code == 200  # own account stays open

    # The same person in another workspace that does not require it works as before.
    other = MembershipFactory.create(user=personas.editor, role=Role.OWNER).workspace
    editor.post(reverse("accounts:workspace_switch", kwargs={"workspace_id": other.pk}))
    assert editor.get(reverse("audience:lists")).status_code == 200

    enrol(personas.editor, editor)
    editor.post(
        reverse("accounts:workspace_switch", kwargs={"workspace_id": personas.workspace.pk})
    )
    assert editor.get(reverse("audience:lists")).status_code == 200


def test_api_keys_and_tokens_are_not_asked_for_a_second_factor(clock, personas):
    """Machines' credentials: neither a device of their user nor the workspace's rule
    concerns them."""
    personas.workspace.require_two_factor = True
    personas.workspace.save()
    raw = api_key_create(
        workspace=personas.workspace, name="crm", role=Role.EDITOR, created_by=personas.owner
    ).raw
    assert APIClient(HTTP_X_API_KEY=raw).get("/api/lists/").status_code == 200

    # A token, once issued, is not asked again either. Signing in for one is (below), and
    # tokens from before the second factor are revoked by its arrival (the test after).
    device, _ = enrol(personas.editor)
    clock.shift(timedelta(seconds=31))  # the next step's code: enrolment used this one
    api = APIClient()
    tokens = api.post(
        "/api/login/",
        {"email": personas.editor.email, "password": PASSWORD, "code": code_of(device)},
        format="json",
    )
    assert tokens.status_code == 200
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens.json()['access']}")
    assert api.get("/api/lists/").status_code == 200

    # The browser session of a member without it is refused by the API as by the pages.
    viewer = client_for(personas.viewer)
    refused = viewer.get("/api/lists/")
    assert refused.status_code == 403
    assert "requires two-factor sign-in" in refused.json()["detail"]


def test_enabling_it_ends_the_sessions_signed_in_without_it(clock):
    user = UserFactory.create(email="ada@example.test")
    elsewhere = Client()
    password_step(elsewhere, user.email)
    assert signed_in(elsewhere)
    enrol(user)
    assert not signed_in(elsewhere)


def test_second_step_events_are_logged(clock, caplog):
    caplog.set_level(logging.INFO, logger="accounts.audit")
    user = UserFactory.create(email="ada@example.test")
    enrol(user)
    client = Client()
    password_step(client, user.email)
    code_step(client, "111111")
    assert f"two_factor.enabled user={user.pk}" in caplog.text
    assert f"two_factor.code_refused user={user.pk} failures=1" in caplog.text
    assert user.email not in caplog.text


def test_codes_are_valid_for_the_current_step_and_its_neighbours_only(clock):
    user = UserFactory.create(email="ada@example.test")
    device, _codes = enrol(user)
    clock.shift(60)
    stale = code_of(device)
    clock.shift(timedelta(minutes=5))
    client = Client()
    password_step(client, user.email)
    assert code_step(client, stale).status_code == 400


def test_a_password_alone_gets_no_api_token_for_a_user_with_two_factor(clock, personas):
    device, recovery = enrol(personas.editor)
    api = APIClient()
    login = {"email": personas.editor.email, "password": PASSWORD}
    refused = api.post("/api/login/", login, format="json")
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "two_factor_required"
    wrong = api.post("/api/login/", {**login, "code": "000000"}, format="json")
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "two_factor_wrong"
    clock.shift(timedelta(seconds=31))  # the code of the next step, never used yet
    tokens = api.post("/api/login/", {**login, "code": code_of(device)}, format="json")
    assert tokens.status_code == 200
    assert "access" in tokens.json()
    by_recovery = api.post("/api/login/", {**login, "code": recovery[0]}, format="json")
    assert by_recovery.status_code == 200
    again = api.post("/api/login/", {**login, "code": recovery[0]}, format="json")
    assert again.status_code == 401  # single use
    # Users without a device sign in as before.
    plain = {"email": personas.viewer.email, "password": PASSWORD}
    assert api.post("/api/login/", plain, format="json").status_code == 200


def test_any_change_of_the_second_factor_ends_the_users_api_tokens(clock, personas):
    user = personas.editor
    api = APIClient()
    login = {"email": user.email, "password": PASSWORD}
    before = api.post("/api/login/", login, format="json").json()

    def works(tokens: dict[str, str]) -> bool:
        me = APIClient(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}").get("/api/me/")
        return me.status_code == 200

    def refreshes(tokens: dict[str, str]) -> bool:
        answer = api.post("/api/token/refresh/", {"refresh": tokens["refresh"]}, format="json")
        return answer.status_code == 200

    assert works(before)
    device, _ = enrol(user)
    assert not works(before)  # taken with the password alone
    assert not refreshes(before)

    clock.shift(timedelta(seconds=31))
    during = api.post("/api/login/", {**login, "code": code_of(device)}, format="json").json()
    assert works(during)
    two_factor.recovery_codes_regenerate(user=user)
    assert not works(during)
    assert not refreshes(during)

    clock.shift(timedelta(seconds=31))
    after = api.post("/api/login/", {**login, "code": code_of(device)}, format="json").json()
    assert works(after)
    two_factor.two_factor_disable(user=user)
    assert not works(after)
    assert not refreshes(after)
