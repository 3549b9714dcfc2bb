"""Reads of sign-up forms, each scoped to one workspace (or to a form's public key)."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet

from accounts.models import Workspace
from subscriptions.models import PendingSignup, SignupForm


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


def person_signups(*, workspace: Workspace, email: str) -> dict[str, Any]:
    """An address's sign-ups waiting for their confirmation, with what was given, for the
    privacy export (settings.RECIPIENT_DATA_PROVIDERS)."""
    rows = PendingSignup.objects.filter(workspace=workspace, email__iexact=email.strip())
    return {
        "sign_ups_waiting": [
            {
                "form": signup.form.name,
                "signed_up_at": signup.created_at.isoformat(),
                "signed_up_ip": signup.signed_up_ip,
                "values": signup.values,
                "custom": signup.custom,
                "confirmation_sent_at": signup.sent_at.isoformat() if signup.sent_at else None,
                "expires_at": signup.expires_at.isoformat(),
            }
            for signup in rows.select_related("form").order_by("created_at", "id")
        ]
    }
