import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from accounts import services as account_services
from accounts.keys.services import api_key_create, api_key_revoke
from accounts.models import Role
from accounts.tests.factories import PASSWORD, MembershipFactory, UserFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db


def tokens(client: APIClient, email: str, password: str = PASSWORD):
    return client.post("/api/login/", {"email": email, "password": password}, format="json")


@pytest.fixture
def member(db):
    return MembershipFactory.create(role=Role.EDITOR, user__email="ada@example.test")


def test_login_gives_tokens_that_open_the_api(member):
    client = APIClient()
    response = tokens(client, "ADA@example.test")
    assert response.status_code == 200
    access, refresh = response.json()["access"], response.json()["refresh"]

    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    me = client.get("/api/me/")
    assert me.status_code == 200
    assert me.json()["email"] == "ada@example.test"
    assert me.json()["workspace"]["role"] == "editor"

    assert APIClient().post("/api/token/verify/", {"token": access}).status_code == 200
    refreshed = APIClient().post("/api/token/refresh/", {"refresh": refresh})
    assert refreshed.status_code == 200
    assert "access" in refreshed.json()


def test_a_wrong_password_gets_401_in_the_error_shape(member):
    response = tokens(APIClient(), "ada@example.test", "wrong")
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["status"] == 401
    assert error["code"] == "no_active_account"
    assert error["message"]


def test_an_unconfirmed_user_gets_no_tokens(db):
    UserFactory.create(email="new@example.test", email_verified_at=None)
    assert tokens(APIClient(), "new@example.test").status_code == 401


def test_a_blocked_users_tokens_stop_working_at_once(member):
    client = APIClient()
    access = tokens(client, "ada@example.test").json()["access"]
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    assert client.get("/api/me/").status_code == 200

    admin = UserFactory.create(is_superuser=True)
    account_services.user_block(user=member.user, by=admin)

    response = client.get("/api/me/")
    assert response.status_code == 401
    assert tokens(APIClient(), "ada@example.test").status_code == 401


def test_api_login_failures_lock_like_the_ui(member, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        tokens(APIClient(), "ada@example.test", "wrong")
    assert tokens(APIClient(), "ada@example.test").status_code in (401, 429)


@pytest.mark.parametrize("header", ["HTTP_AUTHORIZATION", "HTTP_X_API_KEY"])
def test_an_api_key_acts_in_its_workspace_with_its_role(member, header):
    issued = api_key_create(
        workspace=member.workspace, name="crm", role=Role.VIEWER, created_by=member.user
    )
    value = f"Bearer {issued.raw}" if header == "HTTP_AUTHORIZATION" else issued.raw
    client = APIClient()
    client.credentials(**{header: value})
    me = client.get("/api/me/").json()
    assert me["via"] == "api_key"
    assert me["workspace"] == {
        "id": member.workspace.pk,
        "name": member.workspace.name,
        "time_zone": "UTC",
        "role": "viewer",
    }
    issued.api_key.refresh_from_db()
    assert issued.api_key.last_used_at is not None


def test_a_revoked_key_or_a_blocked_creator_gets_401(member):
    revoked = api_key_create(
        workspace=member.workspace, name="old", role=Role.EDITOR, created_by=member.user
    )
    api_key_revoke(api_key=revoked.api_key)
    response = APIClient(HTTP_X_API_KEY=revoked.raw).get("/api/me/")
    assert response.status_code == 401
    assert "revoked" in response.json()["error"]["message"]

    live = api_key_create(
        workspace=member.workspace, name="live", role=Role.EDITOR, created_by=member.user
    )
    account_services.user_block(user=member.user, by=UserFactory.create(is_superuser=True))
    assert APIClient(HTTP_X_API_KEY=live.raw).get("/api/me/").status_code == 401


def test_the_workspace_header_selects_one_of_the_callers_workspaces(member):
    second = WorkspaceFactory.create(name="Second")
    MembershipFactory.create(workspace=second, user=member.user, role=Role.OWNER)
    foreign = WorkspaceFactory.create(name="Foreign")
    client = APIClient()
    client.force_authenticate(member.user)

    chosen = client.get("/api/me/", HTTP_X_WORKSPACE=str(second.pk)).json()
    assert chosen["workspace"]["name"] == "Second"
    assert chosen["workspace"]["role"] == "owner"
    assert len(chosen["workspaces"]) == 2
    assert client.get("/api/me/", HTTP_X_WORKSPACE=str(foreign.pk)).status_code == 404
    bad = client.get("/api/me/", HTTP_X_WORKSPACE="acme")
    assert bad.status_code == 400
    assert "X-Workspace" in bad.json()["error"]["fields"]


def test_calls_without_credentials_get_401():
    response = APIClient().get("/api/me/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_throttling_answers_429_with_retry_after(member, settings):
    api = settings.REST_FRAMEWORK
    rates = {**api["DEFAULT_THROTTLE_RATES"], "principal": "3/min"}  # API_RATE
    settings.REST_FRAMEWORK = {**api, "DEFAULT_THROTTLE_RATES": rates}
    issued = api_key_create(
        workspace=member.workspace, name="busy", role=Role.EDITOR, created_by=member.user
    )
    client = APIClient(HTTP_X_API_KEY=issued.raw)
    statuses = [client.get("/api/me/").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = client.get("/api/me/")
    assert int(response["Retry-After"]) > 0
    assert response.json()["error"]["code"] == "throttled"
    # Another key has its own budget.
    other = api_key_create(
        workspace=member.workspace, name="calm", role=Role.EDITOR, created_by=member.user
    )
    assert APIClient(HTTP_X_API_KEY=other.raw).get("/api/me/").status_code == 200


def test_the_openapi_schema_and_the_docs_are_served_by_the_app(member):
    client = APIClient()
    client.force_authenticate(member.user)
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    document = schema.json()
    assert document["openapi"].startswith("3.")
    assert "/api/login/" in document["paths"]
    docs = client.get(reverse("api:docs"))
    assert docs.status_code == 200
    page = docs.content.decode()
    assert "swagger-ui" in page
    assert "/static/drf_spectacular_sidecar/" in page
    assert "cdn" not in page.lower()


def test_the_schema_generates_without_warnings_and_validates(tmp_path):
    from django.core.management import call_command

    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    text = out.read_text()
    assert "apiKey" in text
    assert "jwt" in text


def test_an_overlong_address_is_a_400_not_a_server_error(db):
    response = APIClient().post(
        "/api/login/", {"email": "a" * 300 + "@example.test", "password": "x"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["email"][0]["code"] == "max_length"


def test_a_body_past_the_servers_limit_is_a_413_in_the_error_shape(member, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    client = APIClient()
    client.force_authenticate(member.user)
    response = client.post("/api/lists/", {"name": "x" * 5000}, format="json")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"


def test_a_key_acts_with_at_most_its_creators_current_role(personas):
    owner_key = api_key_create(
        workspace=personas.workspace, name="sync", role=Role.OWNER, created_by=personas.owner
    )
    second_owner = MembershipFactory.create(
        workspace=personas.workspace, role=Role.OWNER, user__email="second@acme.test"
    )
    client = APIClient(HTTP_X_API_KEY=owner_key.raw)
    assert client.get("/api/me/").json()["workspace"]["role"] == "owner"

    membership = personas.owner.memberships.get(workspace=personas.workspace)
    account_services.membership_change_role(membership=membership, role=Role.VIEWER)
    assert client.get("/api/me/").json()["workspace"]["role"] == "viewer"
    refused = client.post("/api/lists/", {"name": "Not allowed"})
    assert refused.status_code == 403
    assert refused.json()["error"]["message"] == (
        "This needs the editor role in the workspace; the caller is viewer."
    )
    assert second_owner.role == Role.OWNER  # nobody else's access changed
    owner_key.api_key.refresh_from_db()
    assert owner_key.api_key.role == Role.OWNER
    assert owner_key.api_key.is_active


def test_a_key_stops_when_its_creator_leaves_the_workspace(personas):
    issued = api_key_create(
        workspace=personas.workspace, name="crm", role=Role.EDITOR, created_by=personas.editor
    )
    client = APIClient(HTTP_X_API_KEY=issued.raw)
    assert client.get("/api/me/").status_code == 200
    account_services.membership_remove(
        membership=personas.editor.memberships.get(workspace=personas.workspace)
    )
    response = client.get("/api/me/")
    assert response.status_code == 401
    assert response.json()["error"]["message"] == (
        "The user who created this API key is no longer a member of its workspace."
    )
    # Another key of the workspace, whose creator stayed, still works.
    other = api_key_create(
        workspace=personas.workspace, name="other", role=Role.EDITOR, created_by=personas.owner
    )
    assert APIClient(HTTP_X_API_KEY=other.raw).get("/api/me/").status_code == 200
