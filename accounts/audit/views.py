"""The audit log's pages: a workspace's for its owners, and the platform's for managers."""

from __future__ import annotations

from typing import cast

from django.conf import settings
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.access import access_of, workspace_view
from accounts.audit import selectors
from accounts.audit.services import ACTIONS
from accounts.models import Role, Workspace
from accounts.platform_views import manager_view
from core import spreadsheet
from core.keyset import other_params, page_from

PAGE_SIZE = 50


def _page(request: HttpRequest, workspace: Workspace | None, template: str) -> HttpResponse:
    qs = selectors.entries(workspace, request.GET)
    if request.GET.get("format") == "csv":
        response = StreamingHttpResponse(
            spreadsheet.csv_lines(selectors.csv_rows(qs)), content_type=spreadsheet.CONTENT_TYPE
        )
        stamp = timezone.now().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="audit-log-{stamp}.csv"'
        return cast(HttpResponse, response)
    page = page_from(qs, request.GET, key="created_at", size=PAGE_SIZE)  # a log kept for years
    labels = {action: _(label) for action, label in ACTIONS.items()}
    return render(
        request,
        template,
        {
            "page": page,
            "actions": sorted(labels.items(), key=lambda item: item[1]),
            "labels": labels,
            "params": request.GET,
            "query": other_params(request.GET),
            "keep_days": settings.AUDIT_LOG_DAYS,
        },
    )


@workspace_view(Role.OWNER)
def workspace_log(request: HttpRequest) -> HttpResponse:
    return _page(request, access_of(request).workspace, "audit/log.html")


@manager_view
def platform_log(request: HttpRequest) -> HttpResponse:
    return _page(request, None, "audit/platform_log.html")
