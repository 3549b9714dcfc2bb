"""/api/email-accounts/: every kind the UI offers, the UI's rules, write-only secrets."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.tests.factories import PASSWORD
from sending import quota
from sending.models import AccountKind, AccountStatus, SendingAccount
from sending.tests.factories import SendingAccountFactory

pytestmark = pytest.mark.django_db

URL = "/api/email-accounts/"
SECRETS = {
    "smtp_password": "smtp-Secret-7781",
    "oauth_client_secret": "client-Secret-5523",
    "oauth_refresh_token": "refresh-Secret-9914",
    "esp_api_key": "esp-Secret-3307",
}

KINDS: dict[str, dict[str, object]] = {
    "smtp": {
        "kind": "smtp",
        "smtp_host": "smtp.example.com",
        "smtp_port": 587,
        "smtp_security": "starttls",
        "smtp_username": "mailer",
        "smtp_password": SECRETS["smtp_password"],
    },
    "gmail": {
        "kind": "gmail",
        "smtp_username": "me@gmail.example",
        "smtp_password": SECRETS["smtp_password"],
    },
    "oauth2": {
        "kind": "oauth2",
        "oauth_provider": "outlook",
        "oauth_client_id": "client-id",
        "oauth_client_secret": SECRETS["oauth_client_secret"],
        "oauth_refresh_token": SECRETS["oauth_refresh_token"],
    },
    "sendgrid": {"kind": "esp", "esp_provider": "sendgrid", "esp_api_key": SECRETS["esp_api_key"]},
    "amazon_ses": {
        "kind": "esp",
        "esp_provider": "amazon_ses",
        "esp_key_id": "AKIAEXAMPLE",
        "esp_region": "eu-west-1",
        "esp_api_key": SECRETS["esp_api_key"],
    },
    "capture": {"kind": "capture"},
}


def payload(preset: str, **extra: object) -> dict[str, object]:
    return {
        "name": f"{preset} account",
        "from_email": "news@acme.example",
        **KINDS[preset],
        **extra,
    }


def assert_no_secret(response) -> None:
    text = response.content.decode()
    for secret in SECRETS.values():
        assert secret not in text


@pytest.mark.parametrize("kind", list(KINDS))
def test_an_owner_adds_every_kind_and_no_secret_comes_back(personas, api_for, kind):
    owner = api_for("owner")
    response = owner.post(URL, payload(kind), format="json")
    assert response.status_code == 201, response.content
    assert_no_secret(response)
    body = response.json()
    assert body["kind"] == KINDS[kind]["kind"]
    assert body["status"] == ("active" if kind == "capture" else "pending")
    account = SendingAccount.objects.get(pk=body["id"], workspace=personas.workspace)
    for name, secret in SECRETS.items():
        stored = getattr(account, name)
        assert stored in ("", secret)
        assert body[f"has_{name}"] is (stored == secret)
    assert_no_secret(owner.get(URL))
    assert_no_secret(owner.get(f"{URL}{account.pk}/"))


def test_a_mailbox_preset_fixes_the_server(api_for):
    body = api_for("owner").post(URL, payload("gmail"), format="json").json()
    assert (body["smtp_host"], body["smtp_port"], body["smtp_security"]) == (
        "smtp.gmail.com",
        587,
        "starttls",
    )


@pytest.mark.parametrize(
    ("kind", "change", "field"),
    [
        ("smtp", {"smtp_host": ""}, "smtp_host"),
        ("gmail", {"smtp_password": ""}, "smtp_password"),
        ("oauth2", {"oauth_client_id": ""}, "oauth_client_id"),
        ("sendgrid", {"esp_api_key": ""}, "esp_api_key"),
        ("amazon_ses", {"esp_region": "eu-west-1.evil.example"}, "esp_region"),
        ("capture", {"from_email": "not an address"}, "from_email"),
        ("capture", {"kind": "carrier-pigeon"}, "kind"),
    ],
)
def test_the_ui_rules_answer_400_on_the_field(personas, api_for, kind, change, field):
    before = SendingAccount.objects.count()
    response = api_for("owner").post(URL, payload(kind, **change), format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert field in error["fields"], error
    assert SendingAccount.objects.count() == before


@pytest.mark.parametrize(
    "change",
    [
        {"smtp_host": "127.0.0.1"},
        {"smtp_host": "169.254.169.254"},
        {"smtp_host": "10.1.2.3"},
        {"smtp_host": "::1"},
        {"smtp_host": "localhost"},
        {"smtp_host": "mail.localhost."},
    ],
)
def test_hosts_postroom_never_connects_to_are_refused(api_for, settings, change):
    settings.SENDING_ALLOW_PRIVATE_HOSTS = False
    response = api_for("owner").post(URL, payload("smtp", **change), format="json")
    assert response.status_code == 400
    [error] = response.json()["error"]["fields"]["smtp_host"]
    assert "does not connect to it" in error["message"]


def test_a_private_oauth_token_endpoint_is_refused(api_for, settings):
    settings.SENDING_ALLOW_PRIVATE_HOSTS = False
    data = payload("oauth2", oauth_token_endpoint="https://192.168.1.10/token")
    response = api_for("owner").post(URL, data, format="json")
    assert response.status_code == 400
    assert "oauth_token_endpoint" in response.json()["error"]["fields"]


def test_private_hosts_pass_where_the_operator_allows_them(api_for, settings):
    settings.SENDING_ALLOW_PRIVATE_HOSTS = True
    response = api_for("owner").post(URL, payload("smtp", smtp_host="127.0.0.1"), format="json")
    assert response.status_code == 201


def test_omitted_and_empty_secrets_keep_the_saved_one(personas, api_for):
    account = SendingAccountFactory.create(
        workspace=personas.workspace, smtp_username="mailer", smtp_password="kept-Secret-1"
    )
    owner = api_for("owner")
    response = owner.patch(f"{URL}{account.pk}/", {"name": "Renamed"}, format="json")
    assert response.status_code == 200
    assert "kept-Secret-1" not in response.content.decode()
    assert response.json()["has_smtp_password"] is True
    owner.patch(f"{URL}{account.pk}/", {"smtp_password": ""}, format="json")
    account.refresh_from_db()
    assert (account.name, account.smtp_password) == ("Renamed", "kept-Secret-1")
    assert account.status == AccountStatus.ACTIVE  # the name is not the connection


def test_a_new_secret_sends_the_account_back_to_be_tested(personas, api_for):
    account = SendingAccountFactory.create(workspace=personas.workspace, smtp_password="old")
    response = api_for("owner").put(
        f"{URL}{account.pk}/", {"smtp_password": SECRETS["smtp_password"]}, format="json"
    )
    assert response.status_code == 200
    assert_no_secret(response)
    assert response.json()["status"] == "pending"
    assert "test the account" in response.json()["status_reason"]
    account.refresh_from_db()
    assert account.smtp_password == SECRETS["smtp_password"]


def test_a_rejected_change_saves_nothing(personas, api_for):
    account = SendingAccountFactory.create(workspace=personas.workspace, name="Before")
    response = api_for("owner").patch(
        f"{URL}{account.pk}/", {"name": "After", "smtp_host": ""}, format="json"
    )
    assert response.status_code == 400
    account.refresh_from_db()
    assert (account.name, account.smtp_host) == ("Before", "127.0.0.1")


def test_usage_today_is_in_the_representation(personas, api_for):
    today = quota.local_day(personas.workspace, timezone.now())
    SendingAccount.objects.filter(workspace=personas.workspace).delete()
    SendingAccountFactory.create(
        workspace=personas.workspace, name="A", daily_limit=30, sent_today=7, sent_day=today
    )
    SendingAccountFactory.create(
        workspace=personas.workspace,
        name="B",
        daily_limit=30,
        sent_today=29,
        sent_day=today - timedelta(days=1),
    )
    rows = api_for("viewer").get(URL).json()["results"]
    usage = [(r["name"], r["sent_today"], r["daily_limit"], r["remaining_today"]) for r in rows]
    assert usage == [("A", 7, 30, 23), ("B", 0, 30, 30)]


def test_the_list_reads_no_secret(personas, api_for, django_assert_num_queries):
    SendingAccountFactory.create_batch(3, workspace=personas.workspace, smtp_password="x")
    client = api_for("viewer")
    client.get(URL)  # warm the key's last-used stamp
    # key, count, page: a constant number of queries, secrets never decrypted
    with django_assert_num_queries(3):
        rows = client.get(URL).json()["results"]
    assert sum(r["has_smtp_password"] for r in rows) == 3


def test_owners_pause_and_activate_an_account(personas, api_for):
    account = SendingAccountFactory.create(workspace=personas.workspace)
    owner = api_for("owner")
    assert owner.post(f"{URL}{account.pk}/pause/").json()["status"] == "inactive"
    account.refresh_from_db()
    assert account.status == AccountStatus.INACTIVE
    assert owner.post(f"{URL}{account.pk}/activate/").json()["status"] == "active"


def test_owners_delete_an_account(personas, api_for):
    account = SendingAccountFactory.create(workspace=personas.workspace)
    assert api_for("owner").delete(f"{URL}{account.pk}/").status_code == 204
    assert not SendingAccount.objects.filter(pk=account.pk).exists()


@pytest.mark.parametrize("role", ["viewer", "editor"])
def test_only_owners_change_accounts_as_in_the_ui(personas, api_for, role):
    account = SendingAccountFactory.create(workspace=personas.workspace)
    client = api_for(role)
    assert client.get(URL).status_code == 200
    assert client.get(f"{URL}{account.pk}/").status_code == 200
    writes = [
        client.post(URL, payload("capture"), format="json"),
        client.patch(f"{URL}{account.pk}/", {"name": "x"}, format="json"),
        client.put(f"{URL}{account.pk}/", {"name": "x"}, format="json"),
        client.delete(f"{URL}{account.pk}/"),
        client.post(f"{URL}{account.pk}/pause/"),
        client.post(f"{URL}{account.pk}/activate/"),
    ]
    assert [w.status_code for w in writes] == [403] * 6
    assert writes[0].json()["error"]["code"] == "permission_denied"


def test_another_workspaces_accounts_are_out_of_reach(personas, api_for):
    theirs = SendingAccountFactory.create(workspace=personas.other_workspace, name="Theirs")
    owner = api_for("owner")
    assert "Theirs" not in owner.get(URL).content.decode()
    assert owner.get(f"{URL}{theirs.pk}/").status_code == 404
    assert owner.patch(f"{URL}{theirs.pk}/", {"name": "Mine"}, format="json").status_code == 404
    theirs.refresh_from_db()
    assert theirs.name == "Theirs"


def test_a_user_with_a_jwt_adds_an_account_in_the_workspace_they_choose(personas):
    client = APIClient()
    login = client.post(
        "/api/login/", {"email": "owner@acme.test", "password": PASSWORD}, format="json"
    )
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {login.json()['access']}",
        HTTP_X_WORKSPACE=str(personas.workspace.pk),
    )
    response = client.post(URL, payload("smtp"), format="json")
    assert response.status_code == 201
    assert_no_secret(response)
    assert SendingAccount.objects.filter(
        workspace=personas.workspace, kind=AccountKind.SMTP, name="smtp account"
    ).exists()
