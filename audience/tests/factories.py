"""Recipients, lists and their memberships, each in one workspace.

A membership's recipient is made in its list's workspace, and a list's `members` must be of the
list's workspace: the factories refuse to mix tenants rather than make rows no service could.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import factory

from accounts.tests.factories import WorkspaceFactory
from audience.models import ListMembership, Recipient, RecipientList, Segment


class RecipientFactory(factory.django.DjangoModelFactory[Recipient]):
    class Meta:
        model = Recipient

    workspace = factory.SubFactory(WorkspaceFactory)
    email = factory.Sequence(lambda n: f"person{n}@example.test")


class RecipientListFactory(factory.django.DjangoModelFactory[RecipientList]):
    """A list; `members=[...]` adds those recipients (of the list's workspace) to it."""

    class Meta:
        model = RecipientList
        skip_postgeneration_save = True

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Sequence(lambda n: f"List {n}")

    @factory.post_generation  # type: ignore[untyped-decorator]
    def members(
        obj: RecipientList, create: bool, extracted: Iterable[Recipient] | None, **kwargs: Any
    ) -> None:
        if not create or not extracted:
            return
        people = list(extracted)
        foreign = [r.email for r in people if r.workspace_id != obj.workspace_id]
        if foreign:
            raise ValueError(f"recipients of another workspace for list {obj.name}: {foreign}")
        ListMembership.objects.bulk_create(
            [ListMembership(recipient_list=obj, recipient=r) for r in people]
        )


class ListMembershipFactory(factory.django.DjangoModelFactory[ListMembership]):
    class Meta:
        model = ListMembership

    recipient_list = factory.SubFactory(RecipientListFactory)
    recipient = factory.SubFactory(
        RecipientFactory, workspace=factory.SelfAttribute("..recipient_list.workspace")
    )

    @classmethod
    def _create(cls, model_class: type[ListMembership], *args: Any, **kwargs: Any) -> Any:
        rlist, recipient = kwargs["recipient_list"], kwargs["recipient"]
        if rlist.workspace_id != recipient.workspace_id:
            raise ValueError(f"{recipient.email} is not of list {rlist.name}'s workspace")
        return super()._create(model_class, *args, **kwargs)


class SegmentFactory(factory.django.DjangoModelFactory[Segment]):
    """A segment; the default definition (no conditions) matches every recipient."""

    class Meta:
        model = Segment

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Sequence(lambda n: f"Segment {n}")
    definition = factory.LazyFunction(dict)
