"""The Emailer System's `GET /api/test/emailer/`: is sending set up and working here?"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.access import WorkspaceRole, api_access
from campaigns.workers.heartbeat import workers_alive
from sending import selectors as sending_selectors
from sending.services import account_test

LIVE_TEST_LIMIT = 5  # live connection tests per call: each may take the connect timeout

EmailerStatus = inline_serializer(
    "EmailerStatus",
    {
        "ok": serializers.BooleanField(),
        "workspace": serializers.CharField(),
        "sending_stopped": serializers.BooleanField(),
        "accounts": serializers.ListField(child=serializers.DictField()),
        "workers": serializers.ListField(child=serializers.DictField()),
        "problems": serializers.ListField(child=serializers.CharField()),
    },
)


class EmailerTestApi(APIView):
    permission_classes = (WorkspaceRole,)

    @extend_schema(
        tags=["sending"],
        summary="Whether sending is configured and working for the caller's workspace",
        parameters=[
            OpenApiParameter(
                "live",
                bool,
                description="Also connect to each active account's server and log in "
                f"(at most {LIVE_TEST_LIMIT}); sends nothing. Default: true.",
            )
        ],
        responses=EmailerStatus,
    )
    def get(self, request: Request) -> Response:
        workspace = api_access(request).workspace
        live = request.query_params.get("live", "true").lower() not in ("0", "false", "no")
        accounts = list(sending_selectors.active_accounts(workspace))
        problems: list[str] = []
        rows = [self._account(a, live and i < LIVE_TEST_LIMIT) for i, a in enumerate(accounts)]
        if workspace.sending_stopped:
            problems.append("A platform manager stopped this workspace's sending.")
        if not accounts:
            problems.append("No active sending account: add one and test it.")
        problems += [f"{r['email']}: {r['test']}" for r in rows if r.get("test_ok") is False]
        workers = [{"name": w.name, "kind": w.kind, "seen_at": w.seen_at} for w in workers_alive()]
        if not workers:
            problems.append(
                "No worker is running, so nothing is sent: start `manage.py worker` "
                "(or `celery -A postroom worker` and `celery -A postroom beat`)."
            )
        return Response(
            {
                "ok": not problems,
                "workspace": workspace.name,
                "sending_stopped": workspace.sending_stopped,
                "accounts": rows,
                "workers": workers,
                "problems": problems,
                "checked_at": timezone.now(),
            }
        )

    @staticmethod
    def _account(account: Any, live: bool) -> dict[str, Any]:
        row: dict[str, Any] = {
            "id": account.pk,
            "name": account.name,
            "email": account.from_email,
            "kind": account.kind,
            "status": account.status,
            "daily_limit": account.daily_limit,
        }
        if live:
            outcome = account_test(account=account)
            row["test_ok"] = outcome.success
            row["test"] = outcome.message
        return row
