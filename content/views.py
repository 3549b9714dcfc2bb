from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.access import workspace_view


@workspace_view()
def index(request: HttpRequest) -> HttpResponse:
    return render(request, "content/index.html")
