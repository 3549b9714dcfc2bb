"""The main journey in real Chromium, in English and in Russian, as a brand-new user: sign up
and confirm the address, import recipients into a list, build a message in the block editor,
add a capture account, send a campaign, read its report with its chart, and hear of it in the
bell. Every step reads the page in the chosen language; the worker's parts (the import job,
the launch, the engine, the notifications' pass) run in the test's thread.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.models import User
from audience import jobs
from audience.models import Recipient
from campaigns.engine.step import Engine
from campaigns.models import Campaign, CampaignStatus
from campaigns.services import campaigns_launch_queued
from content.models import Template
from core.testing.smtp import SmtpSink
from notifications.collect import collect
from sending.models import AccountKind, CapturedMessage, SendingAccount

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(300),
    # The pages and their words are the same on either database: the SQLite pass walks them.
    pytest.mark.skipif(
        connection.vendor != "sqlite", reason="the journey is walked in the SQLite pass"
    ),
]

PASSWORD = "a-journey-through-postroom-2026"
PEOPLE = ("ann@example.org", "bob@example.net", "cid@example.com")

# The page's words in each language: the Russian ones are the translations in
# locale/ru/LC_MESSAGES/django.po.
WORDS: dict[str, dict[str, str]] = {
    "en": {
        "switch": "English",
        "signup_heading": "Create your account",
        "email": "E-mail address",
        "first_name": "First name",
        "password": "Password",
        "sign_up": "Sign up",
        "check_mail": "Check your e-mail",
        "confirmed": "is confirmed. You can sign in now.",
        "sign_in": "Sign in",
        "workspace": "Grace's workspace",
        "recipients": "Recipients",
        "lists": "Lists",
        "import": "Import",
        "name": "Name",
        "create_list": "Create list",
        "import_heading": "Import recipients",
        "csv_file": "CSV file",
        "upload": "Upload and map columns",
        "import_email": "Import column email into",
        "to_list": "Add everyone imported to list",
        "start_import": "Start import",
        "queued": "Queued",
        "done": "Done",
        "templates": "Templates",
        "new_template": "New template",
        "blocks": "Blocks",
        "subject": "Subject",
        "save": "Save",
        "template_created": "Template “Spring news” created.",
        "edit_text": "Edit Text 1",
        "text": "Text:",
        "save_block": "Save the block",
        "saved": "Saved",
        "add_block": "Add a block",
        "add": "Add",
        "label": "Label:",
        "link": "Link:",
        "template_saved": "Template saved.",
        "accounts": "Sending accounts",
        "add_account": "Add account",
        "account_heading": "Add a sending account",
        "sender_email": "Sender e-mail",
        "kind": "Kind",
        "daily_limit": "Daily limit",
        "interval": "Minimum seconds between messages",
        "campaigns": "Campaigns",
        "new_campaign": "New campaign",
        "template": "Template",
        "save_draft": "Save draft",
        "start_now": "Start now",
        "started": "Campaign started.",
        "report_link": "Opens, clicks, bounces",
        "report": "Report",
        "chart": "Opens and clicks in the first 48 hours",
        "by_domain": "By receiving domain",
        "notifications": "Notifications",
        "unread": "unread: 2",
        "finished": "Campaign “Autumn letter” finished.",
        "import_finished": "Import of “people.csv” finished.",
    },
    "ru": {
        "switch": "Русский",
        "signup_heading": "Создайте аккаунт",
        "email": "Адрес e-mail",
        "first_name": "Имя",
        "password": "Пароль",
        "sign_up": "Регистрация",
        "check_mail": "Проверьте почту",
        "confirmed": "подтверждён. Теперь можно войти.",
        "sign_in": "Войти",
        "workspace": "Рабочее пространство Grace",
        "recipients": "Получатели",
        "lists": "Списки",
        "import": "Импорт",
        "name": "Название",
        "create_list": "Создать список",
        "import_heading": "Импорт получателей",
        "csv_file": "CSV-файл",
        "upload": "Загрузить и сопоставить столбцы",
        "import_email": "Куда импортировать столбец email",
        "to_list": "Добавить всех импортированных в список",
        "start_import": "Начать импорт",
        "queued": "В очереди",
        "done": "Готово",
        "templates": "Шаблоны",
        "new_template": "Новый шаблон",
        "blocks": "Блоки",
        "subject": "Тема",
        "save": "Сохранить",
        "template_created": "Шаблон «Spring news» создан.",
        "edit_text": "Изменить Текст 1",
        "text": "Текст:",
        "save_block": "Сохранить блок",
        "saved": "Сохранено",
        "add_block": "Добавить блок",
        "add": "Добавить",
        "label": "Подпись:",
        "link": "Ссылка:",
        "template_saved": "Шаблон сохранён.",
        "accounts": "Аккаунты отправки",
        "add_account": "Добавить аккаунт",
        "account_heading": "Добавить аккаунт отправки",
        "sender_email": "E-mail отправителя",
        "kind": "Вид",
        "daily_limit": "Дневной лимит",
        "interval": "Минимум секунд между письмами",
        "campaigns": "Кампании",
        "new_campaign": "Новая кампания",
        "template": "Шаблон",
        "save_draft": "Сохранить черновик",
        "start_now": "Запустить сейчас",
        "started": "Кампания запущена.",
        "report_link": "Открытия, клики, возвраты",
        "report": "Отчёт",
        "chart": "Открытия и клики за первые 48 часов",
        "by_domain": "По домену получателя",
        "notifications": "Уведомления",
        "unread": "непрочитанных: 2",
        "finished": "Кампания «Autumn letter» завершена.",
        "import_finished": "Импорт «people.csv» завершён.",
    },
}


# The charts' legends (drawn on the canvas, so read from Chart.js).
LEGENDS: dict[str, dict[str, list[str]]] = {
    "en": {
        "dashboard-chart": ["Sent", "Retried", "Failed", "Suppressed"],
        "report-hours": ["Opens", "Clicks"],
    },
    "ru": {
        "dashboard-chart": ["Отправлено", "Повторено", "Не отправлено", "Исключено"],
        "report-hours": ["Открытия", "Клики"],
    },
}


def no_english(page: Page, language: str, *texts: str) -> None:
    """In the Russian walk, the page shows none of these English words."""
    if language == "ru":
        body = page.locator("body")
        for text in texts:
            expect(body).not_to_contain_text(text, use_inner_text=True)


def legend(page: Page, canvas_id: str) -> list[str]:
    expect(page.locator(f"#{canvas_id}")).to_have_attribute("data-chart-drawn", "true")
    expect(page.locator(f"#{canvas_id}")).to_be_visible()
    labels: list[str] = page.evaluate(
        "id => Chart.getChart(document.getElementById(id)).data.datasets.map(d => d.label)",
        canvas_id,
    )
    return labels


def _link_in(smtp_sink: SmtpSink, pattern: str) -> str:
    [message] = smtp_sink.wait_for(1)
    text = message.text or ""
    match = re.search(pattern, text)
    assert match, text
    return match.group(0)


def sign_up_and_confirm(page: Page, language: str, smtp_sink: SmtpSink) -> None:
    w = WORDS[language]
    page.goto("/accounts/signup/")
    page.get_by_role("button", name=w["switch"]).click()
    expect(page.locator("html")).to_have_attribute("lang", language)
    expect(page.get_by_role("heading", name=w["signup_heading"])).to_be_visible()
    no_english(page, language, "Create your account", "Sign up", "Password", "First name")
    page.get_by_label(w["email"]).fill("grace@example.test")
    page.get_by_label(w["first_name"]).fill("Grace")
    page.get_by_label(w["password"]).fill(PASSWORD)
    page.get_by_role("button", name=w["sign_up"]).click()
    expect(page.get_by_role("heading", name=w["check_mail"])).to_be_visible()

    page.goto(_link_in(smtp_sink, r"https?://\S+/accounts/verify/\S+"))
    expect(page.get_by_text(w["confirmed"])).to_be_visible()
    page.get_by_label(w["password"]).fill(PASSWORD)
    page.get_by_role("button", name=w["sign_in"]).click()
    expect(page.get_by_role("heading", name=w["workspace"])).to_be_visible()
    assert legend(page, "dashboard-chart") == LEGENDS[language]["dashboard-chart"]
    no_english(page, language, "Dashboard", "Recipients", "Campaigns", "workspace", "Retried")
    assert User.objects.get().is_verified


def import_recipients(page: Page, language: str, tmp_path: Path) -> None:
    w = WORDS[language]
    sidebar = page.locator("#sidebar")
    sidebar.get_by_role("link", name=w["recipients"], exact=True).click()
    page.get_by_role("link", name=w["lists"], exact=True).click()
    page.get_by_label(w["name"]).fill("Customers")
    page.get_by_role("button", name=w["create_list"]).click()
    expect(page.locator("#lists")).to_contain_text("Customers")

    csv_file = tmp_path / "people.csv"
    csv_file.write_text(
        "email,first_name\n" + "".join(f"{e},{e[:3].title()}\n" for e in PEOPLE),
        encoding="utf-8",
    )
    page.get_by_role("link", name=w["import"], exact=True).click()
    expect(page.get_by_role("heading", name=w["import_heading"])).to_be_visible()
    page.get_by_label(w["csv_file"]).set_input_files(str(csv_file))
    page.get_by_role("button", name=w["upload"]).click()
    expect(page.locator("#preview")).to_contain_text("ann@example.org")
    expect(page.get_by_label(w["import_email"])).to_have_value("email")
    page.get_by_label(w["to_list"]).select_option(label="Customers")
    page.get_by_role("button", name=w["start_import"]).click()
    expect(page.locator("[data-status]")).to_have_text(w["queued"])

    assert jobs.run_next_job()  # the worker's step, as the embedded worker would run it
    # htmx polls the progress and reloads the page when the job has ended.
    expect(page.locator("[data-count=imported]")).to_have_text("3", timeout=15_000)
    expect(page.locator("[data-count=rejected]")).to_have_text("0")
    expect(page.locator("[data-status]")).to_have_text(w["done"])
    no_english(page, language, "Imported", "Rejected", "Done", "Import")
    assert Recipient.objects.count() == len(PEOPLE)


def build_message(page: Page, language: str) -> None:
    w = WORDS[language]
    page.locator("#sidebar").get_by_role("link", name=w["templates"], exact=True).click()
    page.get_by_role("link", name=w["new_template"]).click()
    page.get_by_role("link", name=w["blocks"], exact=True).click()
    page.get_by_label(w["name"]).fill("Spring news")
    page.get_by_label(w["subject"] + ":", exact=True).fill("News for {first_name|you}")
    page.get_by_role("button", name=w["save"], exact=True).click()
    expect(page.get_by_text(w["template_created"])).to_be_visible()

    blocks = page.locator("#blocks")
    blocks.get_by_role("link", name=w["edit_text"]).click()
    text = blocks.get_by_label(w["text"], exact=True)
    expect(text).to_be_focused()  # htmx focuses the opened form when it settles: wait for it
    text.fill("Hello {first_name|there}, spring is here.")
    blocks.get_by_role("button", name=w["save_block"]).click()
    expect(blocks.get_by_role("status")).to_have_text(w["saved"])
    live = page.frame_locator("#blocks-preview")
    expect(live.get_by_text("spring is here.")).to_be_visible()

    blocks.get_by_label(w["add_block"]).select_option("button")
    blocks.get_by_role("button", name=w["add"], exact=True).click()
    label = blocks.get_by_label(w["label"], exact=True)
    expect(label).to_be_focused()
    label.fill("Read the news")
    blocks.get_by_label(w["link"], exact=True).fill("https://example.com/spring")
    blocks.get_by_role("button", name=w["save_block"]).click()
    expect(blocks.get_by_role("status")).to_have_text(w["saved"])
    expect(live.get_by_role("link", name="Read the news")).to_be_visible()
    no_english(page, language, "Blocks", "Save the block", "Add a block", "Preview", "Button")

    page.get_by_role("button", name=w["save"], exact=True).click()
    expect(page.get_by_text(w["template_saved"])).to_be_visible()
    template = Template.objects.get()
    assert {"text", "button"} <= {b["type"] for b in template.blocks}


def add_capture_account(page: Page, language: str) -> None:
    w = WORDS[language]
    page.locator("#sidebar").get_by_role("link", name=w["accounts"], exact=True).click()
    page.get_by_role("link", name=w["add_account"]).first.click()
    expect(page.get_by_role("heading", name=w["account_heading"])).to_be_visible()
    page.get_by_label(w["name"] + ":", exact=True).fill("Trial")
    page.get_by_label(w["sender_email"]).fill("news@example.test")
    page.get_by_label(w["kind"]).select_option(AccountKind.CAPTURE)
    page.get_by_label(w["daily_limit"]).fill("100")
    page.get_by_label(w["interval"]).fill("0")
    page.get_by_role("button", name=w["save"], exact=True).click()
    expect(page.get_by_role("heading", name="Trial")).to_be_visible()
    no_english(page, language, "Local capture", "Daily limit", "Status")
    assert SendingAccount.objects.get(name="Trial").kind == AccountKind.CAPTURE


def send_campaign(page: Page, language: str) -> Campaign:
    w = WORDS[language]
    page.locator("#sidebar").get_by_role("link", name=w["campaigns"], exact=True).click()
    page.get_by_role("link", name=w["new_campaign"]).click()
    page.get_by_label(w["name"]).fill("Autumn letter")
    page.get_by_label(w["template"]).select_option(label="Spring news")
    page.get_by_label("Customers", exact=True).check()
    expect(page.locator('#audience-preview [data-count="reachable"]')).to_have_text("3")
    page.get_by_label("Trial <news@example.test>").check()
    page.get_by_role("button", name=w["save_draft"]).click()
    expect(page.get_by_role("heading", name="Autumn letter")).to_be_visible()
    page.get_by_role("button", name=w["start_now"]).click()
    expect(page.get_by_text(w["started"])).to_be_visible()
    expect(page.locator('#campaign-progress [data-status="launching"]')).to_be_visible()

    # The worker's launch, in the test's thread: the poll sees it and reloads the page once.
    campaigns_launch_queued(now=timezone.now())
    expect(page.locator('#campaign-progress [data-status="running"]')).to_be_visible(timeout=15_000)
    engine = Engine(batch_size=2)
    for _ in range(10):
        if not engine.step():
            break
    campaign = Campaign.objects.get()
    assert campaign.status == CampaignStatus.COMPLETED
    expect(page.locator('#campaign-progress [data-status="completed"]')).to_be_visible(
        timeout=15_000
    )
    expect(page.locator('#progress-counts [data-count="sent"]')).to_have_text("3")
    no_english(page, language, "Completed", "Sent", "Deliveries", "Opens, clicks, bounces")
    assert CapturedMessage.objects.count() == len(PEOPLE)
    return campaign


def read_the_report(page: Page, language: str) -> None:
    w = WORDS[language]
    page.get_by_role("link", name=w["report_link"]).click()
    expect(page.get_by_role("heading", name=w["report"], exact=True)).to_be_visible()
    expect(page.locator('[data-figure="sent"]')).to_have_text("3")
    expect(page.get_by_role("heading", name=w["chart"])).to_be_visible()
    expect(page.locator("#report-hours")).to_have_attribute("data-chart-drawn", "true")
    expect(page.locator("#report-hours")).to_be_visible()
    expect(page.get_by_role("heading", name=w["by_domain"])).to_be_visible()
    assert legend(page, "report-hours") == LEGENDS[language]["report-hours"]
    expect(page.locator("#report-domains table")).to_contain_text("example.org")
    no_english(page, language, "Report", "Delivered", "Opens and clicks", "By receiving domain")


def hear_of_it(page: Page, language: str) -> None:
    w = WORDS[language]
    collect(now=timezone.now())  # the worker's notifications pass
    page.reload()
    bell = page.locator("#bell")
    expect(bell.locator("[data-unread-count]")).to_have_text(w["unread"])
    bell.click()
    expect(page.get_by_role("heading", name=w["notifications"])).to_be_visible()
    items = page.locator("#notifications li")
    expect(items.filter(has_text=w["finished"])).to_have_attribute("data-unread", "yes")
    expect(items.filter(has_text=w["import_finished"])).to_be_visible()
    no_english(page, language, "Notifications", "finished", "Mark read", "unread")


@pytest.mark.parametrize("language", ["en", "ru"])
def test_the_main_journey(language: str, page: Page, smtp_sink: SmtpSink, tmp_path: Path):
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))

    sign_up_and_confirm(page, language, smtp_sink)
    import_recipients(page, language, tmp_path)
    build_message(page, language)
    add_capture_account(page, language)
    send_campaign(page, language)
    read_the_report(page, language)
    hear_of_it(page, language)
    assert not errors
