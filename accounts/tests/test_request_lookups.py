"""What every request looks up about its user, its key and its workspace costs little: a
one-row lookup by a unique key is not sorted (a model's default ordering made the database
join the users' table only to sort the one membership found), and whether the user is a
platform manager is one EXISTS, not every permission of the user and their groups."""

import pytest
from django.urls import reverse

from core.testing.sql import compiled_by_the_orm, lookups, statements

pytestmark = pytest.mark.django_db


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
