"""core.compiled: a query compiled once answers what the ORM answers, in any thread."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection
from django.forms.models import model_to_dict

from accounts.models import Membership, Role
from accounts.selectors import membership_get
from accounts.tests.factories import MembershipFactory, WorkspaceFactory
from core.compiled import Compiled


def orm_membership(user_id: Any, workspace_id: Any) -> Membership | None:
    return (
        Membership.objects.select_related("workspace")
        .filter(user_id=user_id, workspace_id=workspace_id)
        .first()
    )


def same(found: Membership | None, expected: Membership | None) -> bool:
    if expected is None or found is None:
        return found is expected
    return model_to_dict(found) == model_to_dict(expected) and model_to_dict(
        found.workspace
    ) == model_to_dict(expected.workspace)


@pytest.mark.django_db
def test_a_compiled_query_gives_the_orms_instances_with_their_relations(
    personas, django_assert_num_queries
):
    users = [personas.owner, personas.viewer, personas.outsider]
    workspaces = [personas.workspace, personas.other_workspace]
    for user in users:
        for workspace in workspaces:
            with django_assert_num_queries(1):  # the workspace comes with it
                found = membership_get(user, workspace.pk)
                name = found.workspace.name if found is not None else None
            expected = orm_membership(user.pk, workspace.pk)
            assert same(found, expected), (user, workspace)
            assert name == (expected.workspace.name if expected else None)
    assert membership_get(personas.outsider, personas.workspace.pk) is None


@pytest.mark.django_db
@pytest.mark.parametrize("sliced", [False, True])
def test_values_the_orm_would_convert_run_through_the_orm(personas, sliced):
    """A string id, or None (a campaign's `resent_from_id`), goes through the ORM: of a
    sliced query too, which `.first()` could not sort."""

    def query(user_id: Any, workspace_id: Any) -> Any:
        found = orm_membership_query(user_id, workspace_id)
        return found.order_by()[:1] if sliced else found

    membership = Compiled(query, user_id=-1, workspace_id=-2)
    as_text = membership.first(user_id=str(personas.owner.pk), workspace_id=personas.workspace.pk)
    assert same(as_text, orm_membership(personas.owner.pk, personas.workspace.pk))
    assert membership.first(user_id=None, workspace_id=personas.workspace.pk) is None
    with pytest.raises(TypeError):
        membership.first(user_id=personas.owner.pk)


def orm_membership_query(user_id: Any, workspace_id: Any) -> Any:
    return Membership.objects.select_related("workspace").filter(
        user_id=user_id, workspace_id=workspace_id
    )


@pytest.mark.django_db
def test_the_querys_own_constants_are_kept_and_every_marker_must_be_used():
    workspace = WorkspaceFactory.create()
    owner = MembershipFactory.create(workspace=workspace, role=Role.OWNER)
    editor = MembershipFactory.create(workspace=workspace, role=Role.EDITOR)
    owners = Compiled(
        lambda workspace_id: Membership.objects.filter(workspace_id=workspace_id, role=Role.OWNER),
        workspace_id=-1,
    )
    found = owners.first(workspace_id=workspace.pk)
    assert found is not None
    assert found.pk == owner.pk != editor.pk
    assert owners.first(workspace_id=workspace.pk + 1000) is None

    unused = Compiled(lambda a, b: Membership.objects.filter(workspace_id=a), a=-1, b=-2)
    with pytest.raises(ValueError, match="does not use b"):
        unused.first(a=1, b=2)
    with pytest.raises(ValueError, match="marker of its own"):
        Compiled(lambda a, b: Membership.objects.all(), a=-1, b=-1)


@pytest.mark.django_db(transaction=True)
def test_a_query_compiled_in_one_thread_runs_in_another_on_its_connection(personas):
    """The web serves requests in threads: a query compiled in one runs in all of them, each
    on its own database connection (Django refuses another thread's)."""
    membership = Compiled(orm_membership_query, user_id=-1, workspace_id=-2)
    assert membership.first(user_id=personas.owner.pk, workspace_id=personas.workspace.pk)
    answers: list[Any] = []

    def other_thread() -> None:
        try:
            answers.append(
                membership.first(user_id=personas.editor.pk, workspace_id=personas.workspace.pk)
            )
        except Exception as exc:  # the test reports it
            answers.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=other_thread)
    thread.start()
    thread.join()
    assert len(answers) == 1
    assert isinstance(answers[0], Membership), answers[0]
    assert answers[0].user_id == personas.editor.pk
