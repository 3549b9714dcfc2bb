"""The base of every workspace resource in the API.

A resource view names its queryset through `workspace_queryset(workspace)`, so nothing can be
read or written outside the caller's workspace: another workspace's id is simply not in the
queryset and answers 404, as in the UI. Routers name the id after the resource
(`lookup_url_kwarg = "recipient_id"`), which is also how the tenancy walker finds a provider.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Generic, TypeVar

from django.db.models import Model, QuerySet
from rest_framework import viewsets

from accounts.api.access import WorkspaceRole, api_access
from accounts.middleware import WorkspaceAccess
from accounts.models import Workspace

M = TypeVar("M", bound=Model)


class WorkspaceScoped(ABC, Generic[M]):
    """Mixin for generic views: the queryset comes from the caller's workspace only."""

    permission_classes: Any = (WorkspaceRole,)

    @property
    def access(self) -> WorkspaceAccess:
        return api_access(self.request)  # type: ignore[attr-defined]

    @property
    def workspace(self) -> Workspace:
        return self.access.workspace

    @abstractmethod
    def workspace_queryset(self, workspace: Workspace) -> QuerySet[M]:
        """Every object of `workspace` this resource serves (and nothing of another)."""

    def get_queryset(self) -> QuerySet[M]:
        return self.workspace_queryset(self.workspace)


class WorkspaceViewSet(WorkspaceScoped[M], viewsets.GenericViewSet):  # type: ignore[type-arg]
    """A GenericViewSet over one workspace's objects; add the mixins the resource offers."""
