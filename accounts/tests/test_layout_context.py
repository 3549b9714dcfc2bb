"""The layout's per-user facts (the workspace switcher, the platform link, the bell, accounts
in error) are read when a page shows them: a fragment that htmx polls, which does not extend
the layout, runs none of their queries; a page that does shows each of them, read in one
query."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Role
from accounts.selectors import MANAGERS_GROUP
from accounts.tests.factories import MembershipFactory
from campaigns.tests.factories import CampaignFactory
from conftest import client_for
from notifications.collect import Fact, tell
from notifications.kinds import Kind
from sending.models import AccountStatus, SendingAccount
from sending.services import account_mark_error
from sending.tests.factories import SendingAccountFactory

pytestmark = pytest.mark.django_db

LAYOUT_TABLES = ("notifications_notification", "sending_sendingaccount", "auth_permission")


def _facts(personas) -> None:
    """One of each: an unread notification, an account in error, a second workspace, and the
    managers' group for the owner."""
    now = timezone.now()
    paused = Fact(personas.workspace.pk, Kind.CAMPAIGN_PAUSED, "k1", "Spring", None, "-", now)
    tell([paused], now=now)
    account = SendingAccountFactory.create(workspace=personas.workspace, name="Broken SMTP")
    account_mark_error(account=account, reason="535 no")
    MembershipFactory.create(
        workspace=personas.other_workspace, user=personas.owner, role=Role.VIEWER
    )
    call_command("create_groups", verbosity=0)
    personas.owner.groups.add(Group.objects.get(name=MANAGERS_GROUP))


def test_a_polled_fragment_reads_none_of_the_layouts_facts(personas):
    _facts(personas)
    campaign = CampaignFactory.create(workspace=personas.workspace)
    client = client_for(personas.owner)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/campaigns/{campaign.pk}/progress/")
    assert response.status_code == 200
    sql = [q["sql"] for q in queries.captured_queries]
    for table in LAYOUT_TABLES:
        assert not [s for s in sql if table in s], table
    # the access check's own membership, not the switcher's list of them all
    assert len([s for s in sql if "accounts_membership" in s]) == 1


def test_a_page_shows_every_one_of_them(personas):
    _facts(personas)
    page = client_for(personas.owner).get("/").content.decode()
    assert 'data-unread-count="1"' in page
    assert "Broken SMTP" in page
    assert "data-account-error=" in page
    assert personas.other_workspace.name in page  # the switcher lists both workspaces
    assert 'href="/platform/"' in page


def test_a_page_reads_them_in_one_query(personas):
    """The switcher's workspaces, the platform link, the bell and the accounts in error come
    from one statement (postroom.layout); listing the accounts in error takes a second one
    only when there are some."""
    _facts(personas)
    client = client_for(personas.owner)
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/accounts/profile/").status_code == 200
    sql = [q["sql"] for q in queries.captured_queries]
    facts = [s for s in sql if all(t in s for t in LAYOUT_TABLES)]
    assert len(facts) == 1
    assert "accounts_membership" in facts[0]  # the switcher's list
    for table in ("notifications_notification", "auth_permission"):
        assert len([s for s in sql if table in s]) == 1, table
    accounts_read = len([s for s in sql if "sending_sendingaccount" in s])

    SendingAccount.objects.update(status=AccountStatus.ACTIVE)
    with CaptureQueriesContext(connection) as queries:
        page = client.get("/accounts/profile/").content.decode()
    assert "data-account-error=" not in page
    sql = [q["sql"] for q in queries.captured_queries]
    assert len([s for s in sql if all(t in s for t in LAYOUT_TABLES)]) == 1
    assert len([s for s in sql if "sending_sendingaccount" in s]) == accounts_read - 1
