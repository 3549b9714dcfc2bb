from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.access import access_of, workspace_view
from accounts.selectors import workspace_members


@workspace_view()
def dashboard(request: HttpRequest) -> HttpResponse:
    workspace = access_of(request).workspace
    return render(
        request,
        "campaigns/dashboard.html",
        {"member_count": workspace_members(workspace).count()},
    )


@workspace_view()
def index(request: HttpRequest) -> HttpResponse:
    return render(request, "campaigns/index.html")


@workspace_view()
def logs(request: HttpRequest) -> HttpResponse:
    return render(request, "campaigns/logs.html")
