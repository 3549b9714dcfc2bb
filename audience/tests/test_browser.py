"""Real Chromium against the live server: import with a bad row, a segment filter, bulk."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from accounts.models import Role
from accounts.tests.factories import PASSWORD, MembershipFactory, WorkspaceFactory
from audience import jobs
from audience.models import JobStatus, Recipient, Suppression
from audience.services import workspace_initialize

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def editor(db):
    workspace = WorkspaceFactory.create(name="Acme")
    workspace_initialize(workspace=workspace)
    membership = MembershipFactory.create(
        workspace=workspace, role=Role.EDITOR, user__email="editor@example.com"
    )
    return membership


def sign_in(page: Page, email: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/$"))


def test_import_with_a_bad_row_shows_it_in_the_report(page: Page, editor, tmp_path: Path):
    csv_file = tmp_path / "people.csv"
    csv_file.write_text(
        "first_name,last_name,company,email,country,city,free_field1,free_field2,free_field3\n"
        "John,Doe,Acme Corp,john@example.com,USA,New York,VIP,Premium,Q1-2025\n"
        "Bad,Row,Nowhere,not-an-address,UK,London,,,\n"
        "Jane,Smith,Tech Inc,jane@example.com,UK,London,Standard,Basic,Q2-2025\n",
        encoding="utf-8",
    )
    sign_in(page, "editor@example.com")
    page.goto("/recipients/import/")
    page.get_by_label("CSV file").set_input_files(str(csv_file))
    page.get_by_role("button", name="Upload and map columns").click()

    expect(page.locator("#preview")).to_contain_text("john@example.com")
    expect(page.get_by_label("Import column email into")).to_have_value("email")
    expect(page.get_by_label("Import column free_field1 into")).to_have_value("field:free_field1")
    page.get_by_role("button", name="Start import").click()
    expect(page.locator("[data-status]")).to_have_text("Queued")

    assert jobs.run_next_job()  # the worker's step, as the embedded worker would run it
    # htmx polls the progress and reloads the page when the job has ended.
    expect(page.locator("#rejections")).to_contain_text("not-an-address", timeout=15_000)
    expect(page.locator("#rejections")).to_contain_text("Invalid e-mail address")
    expect(page.locator("[data-count=imported]")).to_have_text("2")
    expect(page.locator("[data-count=rejected]")).to_have_text("1")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download as CSV").click()
    text = Path(download.value.path()).read_text()
    assert text.splitlines()[1].startswith("3,not-an-address,")
    assert set(Recipient.objects.values_list("email", flat=True)) == {
        "john@example.com",
        "jane@example.com",
    }
    assert jobs_done()


def jobs_done() -> bool:
    from audience.models import AudienceJob

    return AudienceJob.objects.get().status == JobStatus.DONE


def test_a_segment_with_a_live_count_filters_the_table(page: Page, editor):
    workspace = editor.workspace
    for email, country in (
        ("uk1@example.com", "UK"),
        ("uk2@example.com", "UK"),
        ("us@example.com", "USA"),
    ):
        Recipient.objects.create(workspace=workspace, email=email, country=country)
    sign_in(page, "editor@example.com")
    page.goto("/recipients/segments/new/")
    page.locator("input[name=name]").fill("British")
    page.get_by_label("Field 1").select_option("country")
    page.get_by_label("Condition 1").select_option("equals")
    page.get_by_label("Value 1").fill("uk")
    expect(page.locator("#segment-count")).to_have_text("2 recipients")
    page.get_by_role("button", name="Save and show recipients").click()

    table = page.locator("#recipients")
    expect(table).to_contain_text("uk1@example.com")
    expect(table).to_contain_text("uk2@example.com")
    expect(table).not_to_contain_text("us@example.com")
    expect(page.locator("#filter-segment")).to_have_value(str(workspace.segments.get().pk))


def test_a_bulk_action_on_selected_rows(page: Page, editor):
    workspace = editor.workspace
    for i in range(3):
        Recipient.objects.create(workspace=workspace, email=f"p{i}@example.com")
    sign_in(page, "editor@example.com")
    page.goto("/recipients/")
    page.get_by_label("Select p0@example.com").check()
    page.get_by_label("Select p2@example.com").check()
    page.locator("#bulk-action").select_option("unsubscribe")
    page.get_by_role("button", name="Apply").click()

    expect(page.get_by_text("Unsubscribe: 2 recipient(s).")).to_be_visible()
    expect(page.locator("tr[data-email='p0@example.com']")).to_contain_text("Unsubscribed")
    expect(page.locator("tr[data-email='p1@example.com']")).to_contain_text("Active")
    assert set(Suppression.objects.values_list("email", flat=True)) == {
        "p0@example.com",
        "p2@example.com",
    }


def test_selecting_every_row_on_the_page_and_deleting_them(page: Page, editor):
    for i in range(3):
        Recipient.objects.create(workspace=editor.workspace, email=f"p{i}@example.com")
    sign_in(page, "editor@example.com")
    page.goto("/recipients/")
    page.get_by_label("Select every row on this page").check()
    expect(page.get_by_label("Select p1@example.com")).to_be_checked()
    page.locator("#bulk-action").select_option("delete")
    page.get_by_role("button", name="Apply").click()
    # A page asks first, without JavaScript, and says what will be lost.
    expect(page.get_by_text("This deletes 3 recipients")).to_be_visible()
    assert Recipient.objects.count() == 3
    page.get_by_role("button", name="Delete them").click()
    expect(page.get_by_text("Delete: 3 recipient(s).")).to_be_visible()
    assert not Recipient.objects.exists()
