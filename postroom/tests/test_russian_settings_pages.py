"""The settings pages (workspace, webhooks, sign-up forms, API keys, audit log) and the
platform console render in Russian, with no English left; so do their flash messages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.audit import services as audit
from accounts.models import Invitation
from accounts.selectors import MANAGERS_GROUP
from accounts.tests.factories import UserFactory
from audience.tests.factories import RecipientListFactory
from conftest import client_for
from core.testing.russian import RUSSIAN, assert_russian
from sending.models import AccountKind
from sending.tests.factories import SendingAccountFactory
from subscriptions.tests.factories import SignupFormFactory
from webhooks.services import endpoint_update
from webhooks.tests.factories import make_endpoint

pytestmark = pytest.mark.django_db


@pytest.fixture
def signup(personas):
    newsletter = RecipientListFactory.create(workspace=personas.workspace, name="Newsletter")
    return SignupFormFactory.create(workspace=personas.workspace, lists=[newsletter])


@pytest.mark.parametrize(
    ("path", "russian", "english"),
    [
        (
            "/settings/webhooks/",
            ["Вебхуки", "Новый адрес", "Добавить адрес", "Адресов пока нет"],
            ["Webhooks", "New endpoint", "Add endpoint", "No endpoints yet"],
        ),
        (
            "/signup-forms/",
            ["Формы подписки", "Новая форма", "Ждут подтверждения", "Открыть страницу"],
            ["New form", "Waiting for confirmation", "Open page"],
        ),
        (
            "/signup-forms/{id}/",
            ["Форма подписки", "Публикация", "Страница в Postroom:", "Сохранить"],
            ["Publish", "Hosted page", "Or paste this form"],
        ),
        ("/signup-forms/new/", ["Новая форма подписки", "Создать форму"], ["Create form"]),
    ],
)
def test_settings_pages_speak_russian(signup, owner_client: Client, path, russian, english):
    response = owner_client.get(path.format(id=signup.pk), headers=RUSSIAN)
    assert_russian(response, russian, english)


def test_the_api_keys_page_speaks_russian(personas, owner_client: Client):
    response = owner_client.get("/settings/api-keys/", headers=RUSSIAN)
    assert_russian(
        response,
        ["API-ключи", "Документация API", "Новый ключ", "Создать ключ", "API-ключей пока нет."],
        ["API keys", "API documentation", "New key", "Create key", "No API keys yet."],
    )


def test_the_audit_log_speaks_russian(personas, owner_client: Client):
    response = owner_client.get("/settings/audit-log/", headers=RUSSIAN)
    assert_russian(
        response,
        ["Журнал аудита", "Кто", "Фильтровать", "Скачать CSV"],
        ["Audit log", "Who did what", "Download CSV", "Page 1 of"],
    )


def test_the_workspaces_page_speaks_russian(personas, owner_client: Client):
    response = owner_client.get("/accounts/workspaces/", headers=RUSSIAN)
    assert_russian(
        response,
        ["Ваши рабочие пространства", "Ваша роль", "Владелец", "текущее", "Создать рабочее "
         "пространство", "Часовой пояс", "Писем в час"],
        ["Your workspaces", "Your role", "Create workspace", "Time zone", "Messages per hour"],
    )  # fmt: skip


def test_switching_workspace_says_so_in_russian(personas, owner_client: Client):
    other = personas.other_workspace
    other.memberships.create(user=personas.owner, role="viewer")
    response = owner_client.post(
        f"/accounts/workspaces/{other.pk}/switch/", headers=RUSSIAN, follow=True
    )
    assert f"Вы перешли в «{other.name}»." in response.content.decode()


@pytest.fixture
def invitation(personas):
    return Invitation.objects.create(
        workspace=personas.workspace,
        email="new@acme.test",
        role="editor",
        token_hash="0" * 64,
        expires_at=timezone.now() + timedelta(days=7),
    )


@pytest.fixture
def manager(db):
    call_command("create_groups", verbosity=0)
    user = UserFactory.create(email="manager@platform.test")
    user.groups.add(Group.objects.get(name=MANAGERS_GROUP))
    return user


def test_the_workspace_settings_page_speaks_russian(personas, invitation, owner_client: Client):
    response = owner_client.get(reverse("accounts:settings"), headers=RUSSIAN)
    assert_russian(
        response,
        ["Настройки рабочего пространства", "Участники", "Пригласить участника",
         "Отправить приглашение", "Ожидающие приглашения", "Отозвать", "Присоединился",
         "Покинуть это рабочее пространство", f"Покинуть «{personas.workspace.name}»"],
        ["Workspace settings", "Members", "Invite someone", "Send invitation",
         "Pending invitations", "Withdraw", "Leave this workspace", "Owners manage", "Joined"],
    )  # fmt: skip


def test_a_viewer_sees_the_workspace_settings_in_russian(personas, viewer_client: Client):
    response = viewer_client.get(reverse("accounts:settings"), headers=RUSSIAN)
    assert_russian(
        response,
        ["Название", "Часовой пояс", "Писем в час", "без общего ограничения для пространства"],
        ["Time zone", "Messages per hour", "no workspace-wide limit", "Member", "Joined"],
    )


def test_withdrawing_an_invitation_says_so_in_russian(invitation, owner_client: Client):
    url = reverse("accounts:invitation_revoke", kwargs={"invitation_id": invitation.pk})
    response = owner_client.post(url, headers=RUSSIAN, follow=True)
    assert "Приглашение для new@acme.test отозвано." in response.content.decode()


def test_the_platform_page_speaks_russian(personas, manager):
    personas.outsider.is_active = False
    personas.outsider.save(update_fields=["is_active"])
    response = client_for(manager).get(reverse("platform:index"), headers=RUSSIAN)
    assert_russian(
        response,
        ["Платформа", "Пользователи", "Рабочие пространства", "Заблокировать", "Разблокировать",
         "заблокирован", "активен", "Остановить отправку", "разрешена", "Смотреть"],
        ["Users", "Workspaces", "Block", "Unblock", "blocked", "active", "Stop sending",
         "allowed", "View", "Joined"],
    )  # fmt: skip


def test_a_platform_flash_message_speaks_russian(personas, manager):
    workspace = personas.workspace
    url = reverse("platform:workspace_sending", kwargs={"workspace_id": workspace.pk})
    response = client_for(manager).post(url, {"action": "stop"}, headers=RUSSIAN, follow=True)
    assert f"Отправка для «{workspace.name}» остановлена." in response.content.decode()


def test_the_webhook_endpoint_page_speaks_russian(personas, owner_client: Client):
    endpoint = make_endpoint(personas.workspace, "https://127.0.0.1/in")
    endpoint_update(endpoint=endpoint, active=False)
    url = reverse("webhooks:endpoint", kwargs={"endpoint_id": endpoint.pk})
    assert_russian(
        owner_client.get(url, headers=RUSSIAN),
        ["Все вебхуки", "Этот адрес выключен: Выключен пользователем.", "Управление",
         "Ошибок подряд", "Последний успех", "никогда", "Отправить тестовое событие",
         "Сменить секрет", "Включить", "Последние запросы", "Пока ничего не отправлено.",
         "Все события, включая типы, добавленные позже", "Сервер принял письмо."],
        ["All webhooks", "This endpoint is off", "Disabled by a user", "Failures in a row",
         "Last success", "never", "Send a test event", "Rotate secret", "Turn on",
         "Recent requests", "Nothing sent yet", "Every event", "A server accepted"],
    )  # fmt: skip


def test_turning_an_endpoint_off_says_so_in_russian(personas, owner_client: Client):
    endpoint = make_endpoint(personas.workspace, "https://127.0.0.1/in")
    url = reverse("webhooks:active", kwargs={"endpoint_id": endpoint.pk})
    response = owner_client.post(url, {"active": "0"}, headers=RUSSIAN, follow=True)
    assert "Адрес выключен." in response.content.decode()


def test_the_embed_code_subscribes_in_russian(signup, owner_client: Client):
    url = reverse("subscriptions:detail", kwargs={"form_id": signup.pk})
    embed = owner_client.get(url, headers=RUSSIAN).context["embed"]
    assert ">Подписаться</button>" in embed
    assert "Subscribe" not in embed


def test_the_audit_log_names_actions_in_russian(personas, owner_client: Client):
    audit.record("member.invited", workspace=personas.workspace, target_label="new@acme.test")
    text = assert_russian(
        owner_client.get(reverse("audit_log"), headers=RUSSIAN),
        ["Участник приглашён", "Изменена роль участника"],  # the entry, and the filter's choice
        ["Member invited", "Member's role changed"],
    )
    assert "new@acme.test" in text
    # The stored identifier is unchanged, and still filters.
    filtered = owner_client.get(reverse("audit_log"), {"action": "member.invited"})
    assert "new@acme.test" in filtered.content.decode()


def test_the_events_webhook_panel_helps_with_the_key_in_russian(personas, owner_client: Client):
    account = SendingAccountFactory.create(
        workspace=personas.workspace, kind=AccountKind.ESP, esp_provider="mailgun"
    )
    url = reverse("tracking:esp_webhook_panel", kwargs={"account_id": account.pk})
    assert_russian(
        owner_client.get(url, headers=RUSSIAN),
        ["Ключ подписи HTTP-вебхуков Mailgun", "Сохранить ключ"],
        ["signing key (Sending", "older Mailgun accounts", "Save the key"],
    )


def test_a_new_webhook_secret_is_explained_in_russian(personas, owner_client: Client):
    endpoint = make_endpoint(personas.workspace, "https://127.0.0.1/in")
    url = reverse("webhooks:rotate", kwargs={"endpoint_id": endpoint.pk})
    assert_russian(
        owner_client.post(url, headers=RUSSIAN),
        ["Скопируйте секрет подписи сейчас", "Он подходит для обоих заголовков подписи", "До "],
        [
            "Copy the signing secret",
            "It checks both signature headers",
            "Requests carry a signature",
        ],
    )
