"""The public archive of a workspace's campaigns: the list, each campaign, and a feed.

No sign-in: the workspace is found by its archive key, random and rotatable, never by its id.
A wrong key, an archive switched off, a campaign not marked for the archive or another
workspace's all answer 404, alike. The pages hold no personal data (campaigns are shown with
sample values, `campaigns.archive`), so they may be cached for a short time by anyone.
A campaign is shown as view-in-browser shows a message: its own HTML under a CSP that lets
no script run and nothing load but images.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.syndication.views import Feed
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from accounts.models import Workspace
from campaigns import archive
from campaigns.models import Campaign
from content.rendering import render_message
from content.syntax import ContentError
from tracking.views import PREVIEW_CSP

PAGE_SIZE = 20
FEED_SIZE = 20
CACHE_SECONDS = 300


def _workspace(archive_key: str) -> Workspace:
    workspace = archive.workspace_of_archive(archive_key)
    if workspace is None:
        raise Http404("No such archive")
    return workspace


def _cacheable(response: HttpResponse) -> HttpResponse:
    patch_cache_control(response, public=True, max_age=CACHE_SECONDS)
    return response


@require_GET
def index(request: HttpRequest, archive_key: str) -> HttpResponse:
    """The sent campaigns marked for the archive, newest first, a page at a time."""
    workspace = _workspace(archive_key)
    page = Paginator(archive.archived_campaigns(workspace), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {
        "workspace": workspace,
        "archive_key": archive_key,
        "page": page,
        "entries": archive.archive_subjects(workspace, list(page.object_list)),
    }
    return _cacheable(render(request, "archive/index.html", context))


@require_GET
def campaign(request: HttpRequest, archive_key: str, campaign_id: int) -> HttpResponse:
    """One campaign as sent, with the archive's values: no pixel, no tracked links."""
    workspace = _workspace(archive_key)
    found = archive.archived_campaign(workspace, campaign_id)
    if found is None:
        raise Http404("No such campaign")
    try:
        parts, values = archive.archive_message(found)
        message = render_message(
            parts, values, from_email="archive@postroom.invalid", to="archive@postroom.invalid"
        )
    except ContentError as exc:
        raise Http404("This campaign cannot be shown.") from exc
    if message.html is not None:
        response = HttpResponse(message.html, content_type="text/html; charset=utf-8")
    else:
        context = {"subject": message.subject, "text": message.text}
        response = render(request, "archive/text.html", context)
    response["Content-Security-Policy"] = PREVIEW_CSP
    return _cacheable(response)


Entry = tuple[Campaign, str]  # a campaign and its subject as the archive shows it


class ArchiveFeed(Feed[Entry, Workspace]):
    """RSS 2.0 of the latest campaigns of the archive: subject, launch time, archive page."""

    def __call__(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return _cacheable(super().__call__(request, *args, **kwargs))

    def get_object(self, request: HttpRequest, archive_key: str) -> Workspace:
        return _workspace(archive_key)

    def title(self, obj: Workspace) -> str:
        return _("%(workspace)s: campaign archive") % {"workspace": obj.name}

    def description(self, obj: Workspace) -> str:
        return _("The campaigns of %(workspace)s.") % {"workspace": obj.name}

    def link(self, obj: Workspace) -> str:
        return reverse("archive:index", kwargs={"archive_key": obj.archive_key})

    def items(self, obj: Workspace) -> list[Entry]:
        latest = list(archive.archived_campaigns(obj).select_related("workspace")[:FEED_SIZE])
        return archive.archive_subjects(obj, latest)

    def item_title(self, item: Entry) -> str:
        return item[1]

    def item_description(self, item: Entry) -> str:
        return item[1]

    def item_link(self, item: Entry) -> str:
        found = item[0]
        return reverse(
            "archive:campaign",
            kwargs={"archive_key": found.workspace.archive_key, "campaign_id": found.pk},
        )

    def item_pubdate(self, item: Entry) -> datetime | None:
        return item[0].launched_at


feed = ArchiveFeed()
