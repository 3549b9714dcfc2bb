"""Reads of sign-up forms, each scoped to one workspace (or to a form's public key)."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from accounts.models import Workspace
from subscriptions.models import SignupForm


def forms_of(workspace: Workspace) -> QuerySet[SignupForm]:
    """The workspace's forms, each with how many sign-ups wait for their confirmation."""
    return (
        SignupForm.objects.filter(workspace=workspace)
        .annotate(waiting=Count("pending", filter=Q(pending__confirmed_at__isnull=True)))
        .prefetch_related("lists")
        .order_by("name", "id")
    )


def form_get(workspace: Workspace, form_id: int) -> SignupForm | None:
    return SignupForm.objects.filter(workspace=workspace, pk=form_id).first()


def form_public(public_key: str) -> SignupForm | None:
    """The form at a public address, with its workspace (for its settings)."""
    return SignupForm.objects.select_related("workspace").filter(public_key=public_key).first()
