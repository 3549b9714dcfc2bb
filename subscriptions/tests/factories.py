"""Sign-up forms for tests: a form with one double opt-in list, sending through an account."""

from __future__ import annotations

import factory

from accounts.tests.factories import WorkspaceFactory
from subscriptions.models import SignupForm


class SignupFormFactory(factory.django.DjangoModelFactory[SignupForm]):
    class Meta:
        model = SignupForm
        skip_postgeneration_save = True

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Sequence(lambda n: f"Form {n}")
    title = "Our newsletter"

    @factory.post_generation  # type: ignore[untyped-decorator]
    def lists(self, create: bool, extracted: list[object] | None, **kwargs: object) -> None:
        if create and extracted:
            self.lists.set(extracted)
