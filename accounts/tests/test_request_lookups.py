"""What every request looks up about its user, its key and its workspace costs little: a
one-row lookup by a unique key is not sorted (a model's default ordering made the database
join the users' table only to sort the one membership found), and whether the user is a
platform manager is one EXISTS, not every permission of the user and their groups."""

import re
from unittest.mock import patch

import pytest
from django.db import connection
from django.db.models.sql.compiler import SQLCompiler
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

pytestmark = pytest.mark.django_db


def statements(client, path: str) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return [q["sql"] for q in captured.captured_queries]


def lookups(sql: list[str], table: str, unique: str) -> list[str]:
    """The statements that read `table` by its unique `unique` column(s)."""
    pattern = re.compile(rf'FROM "{table}".* WHERE .*"{table}"\."{unique}" = ', re.S)
    return [s for s in sql if pattern.search(s)]


def test_a_page_finds_the_membership_without_sorting_and_the_manager_right_in_one_query(
    personas, owner_client
):
    personas.owner.current_workspace = personas.workspace  # chosen, as after a first page
    personas.owner.save(update_fields=["current_workspace"])
    sql = statements(owner_client, reverse("dashboard"))
    found = lookups(sql, "accounts_membership", "workspace_id")
    assert found  # the request's access is looked up
    for statement in found:
        assert "ORDER BY" not in statement, statement
    # One read of the right, in the layout's facts (postroom.layout), not has_perm's sorted
    # list of every permission the user holds.
    rights = [s for s in sql if "auth_permission" in s]
    assert len(rights) == 1
    assert '"django_content_type"."app_label", "auth_permission"."codename"' not in rights[0]


def test_an_api_request_finds_its_key_without_sorting(api_for):
    sql = statements(api_for("viewer"), "/api/campaigns/")
    found = lookups(sql, "api_apikey", "key_hash")
    assert len(found) == 1
    assert "ORDER BY" not in found[0], found[0]


def compiled_by_the_orm(client, path: str) -> list[str]:
    """The SQL Django's compiler wrote while serving `path`."""
    written: list[str] = []
    compile_sql = SQLCompiler.as_sql

    def spy(self, *args, **kwargs):
        sql, params = compile_sql(self, *args, **kwargs)
        written.append(sql)
        return sql, params

    with patch.object(SQLCompiler, "as_sql", spy):
        assert client.get(path).status_code == 200
    return written


def test_the_lookups_every_request_makes_are_compiled_once(personas, owner_client, api_for):
    """The session, the user, the membership and the API key are read on every request; the
    ORM compiled each of them anew, 200 to 400 µs of CPU apiece (core.compiled)."""
    personas.owner.current_workspace = personas.workspace
    personas.owner.save(update_fields=["current_workspace"])
    page, api = reverse("campaigns:index"), "/api/campaigns/"
    key_client = api_for("viewer")
    owner_client.get(page)  # the first requests compile them
    key_client.get(api)

    sql = statements(owner_client, page)
    read = {
        "session": [s for s in sql if 'FROM "django_session"' in s and '"session_key" = ' in s],
        "user": lookups(sql, "accounts_user", "id"),
        "membership": lookups(sql, "accounts_membership", "workspace_id"),
    }
    assert all(read.values()), read  # still read from the database, on every request
    compiled = compiled_by_the_orm(owner_client, page)
    assert compiled  # the page's own queries are the ORM's
    assert [s for s in compiled if 'FROM "django_session"' in s] == []
    assert lookups(compiled, "accounts_user", "id") == []
    assert lookups(compiled, "accounts_membership", "workspace_id") == []
    assert lookups(compiled_by_the_orm(key_client, api), "api_apikey", "key_hash") == []
