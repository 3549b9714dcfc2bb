"""The public archive's reads: which campaigns it shows, and each one as a message without
anyone's personal data.

A campaign is shown when its workspace's archive is on, it is marked `archived`, and it was
launched (running, paused, completed, or cancelled after its launch): a draft or a campaign
cancelled before its start sent nothing to show. Single e-mails are never shown.

The message is the campaign's content frozen at the start, rendered with the template's
sample values overlaid by the campaign's `archive_values`. What tracking put into the frozen
content is undone (`untracked`): the open pixel goes, each tracked link gets back its own
address, and the unsubscribe and view links point nowhere (`#`): a reader of the archive is
no recipient.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from accounts.models import Workspace
from audience.models import LINK_PLACEHOLDERS, VALUE_MAX_CHARS
from audience.selectors import placeholder_names
from campaigns.engine.send import frozen_parts
from campaigns.models import Campaign, CampaignStatus
from campaigns.tracked_links import CLICK, OPEN, PIXEL
from content.rendering import TemplateParts, render_message, sample_values
from content.syntax import ContentError

# Launched: the states a campaign reaches only through its start.
LAUNCHED = (
    CampaignStatus.RUNNING,
    CampaignStatus.PAUSED,
    CampaignStatus.COMPLETED,
    CampaignStatus.CANCELLED,
)
MAX_ARCHIVE_VALUES = 100
_TRACKED_LINK = re.compile(r"\{" + CLICK + r"\}(\d+)")


class ArchiveValuesError(ValueError):
    """Archive values that cannot be kept: not an object of text, or unknown names."""


def workspace_of_archive(archive_key: str) -> Workspace | None:
    """The workspace whose archive is on at this address, or None."""
    if not archive_key:
        return None
    return Workspace.objects.filter(archive_key=archive_key, archive_enabled=True).first()


def archived_campaigns(workspace: Workspace) -> QuerySet[Campaign]:
    """The workspace's campaigns the archive shows, newest launch first."""
    return Campaign.objects.filter(
        workspace=workspace,
        archived=True,
        is_single=False,
        status__in=LAUNCHED,
        launched_at__isnull=False,
    ).order_by("-launched_at", "-id")


def archived_campaign(workspace: Workspace, campaign_id: int) -> Campaign | None:
    return archived_campaigns(workspace).filter(pk=campaign_id).first()


def clean_archive_values(workspace: Workspace, raw: Any) -> dict[str, str]:
    """`raw` as archive values: an object whose names are the workspace's placeholders (the
    links excepted: the archive sets those) and whose values are text (numbers are taken as
    text). Raises ArchiveValuesError naming the first fault."""
    if raw in (None, ""):
        return {}
    if not isinstance(raw, dict):
        raise ArchiveValuesError(_("Give the values as an object of names and texts."))
    if len(raw) > MAX_ARCHIVE_VALUES:
        raise ArchiveValuesError(_("At most %(n)s values.") % {"n": MAX_ARCHIVE_VALUES})
    known = set(placeholder_names(workspace)) - set(LINK_PLACEHOLDERS)
    unknown = sorted(str(name) for name in raw if name not in known)
    if unknown:
        raise ArchiveValuesError(
            _("Unknown placeholders: %(names)s.") % {"names": ", ".join(unknown)}
        )
    values: dict[str, str] = {}
    for name, value in raw.items():
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ArchiveValuesError(_("The value of %(name)s must be a text.") % {"name": name})
        text = str(value)
        if len(text) > VALUE_MAX_CHARS:
            raise ArchiveValuesError(
                _("The value of %(name)s is longer than %(n)s.")
                % {"name": name, "n": VALUE_MAX_CHARS}
            )
        values[name] = text
    return values


def archive_values(campaign: Campaign, samples: Mapping[str, str] | None = None) -> dict[str, str]:
    """What fills the placeholders in the archive: sample values (`samples`: the workspace's,
    read once for a page of campaigns), the campaign's own archive values over them, and
    links that lead nowhere."""
    values = dict(samples if samples is not None else workspace_samples(campaign.workspace))
    values |= {str(k): str(v) for k, v in (campaign.archive_values or {}).items()}
    values |= dict.fromkeys(LINK_PLACEHOLDERS, "#")
    values |= {CLICK: "#", OPEN: ""}  # never left by `untracked`; belt and braces
    return values


def workspace_samples(workspace: Workspace) -> dict[str, str]:
    return sample_values(placeholder_names(workspace))


def archive_subjects(workspace: Workspace, campaigns: list[Campaign]) -> list[tuple[Campaign, str]]:
    """Each campaign with its subject as the archive shows it (for a list or a feed)."""
    samples = workspace_samples(workspace)
    return [(c, archive_subject(c, archive_values(c, samples))) for c in campaigns]


def untracked(html: str, text: str, links: list[Any]) -> tuple[str, str]:
    """The frozen parts without tracking: no open pixel, and each `{_click}N` replaced by the
    N-th frozen link's own text (a link whose index is unknown leads nowhere)."""

    def original(match: re.Match[str]) -> str:
        index = int(match.group(1))
        if index < len(links) and isinstance(links[index], list) and links[index]:
            return str(links[index][0])
        return "#"

    return (
        _TRACKED_LINK.sub(original, html.replace(PIXEL, "")),
        _TRACKED_LINK.sub(original, text),
    )


def archive_message(campaign: Campaign) -> tuple[TemplateParts, Mapping[str, str]]:
    """The campaign as the archive shows it: its frozen parts untracked, and the values.

    Raises ContentError when the frozen content cannot be read.
    """
    parts = frozen_parts(campaign, with_attachments=False)
    html, text = untracked(parts.html, parts.text, list(campaign.content.get("links") or []))
    shown = TemplateParts(
        subject=parts.subject, html=html, text=text, text_from_html=parts.text_from_html
    )
    return shown, archive_values(campaign)


def archive_subject(campaign: Campaign, values: Mapping[str, str]) -> str:
    """The frozen subject filled with archive values (a subject may greet by name too); the
    campaign's name when the subject cannot be rendered."""
    subject = str(campaign.content.get("subject", ""))
    try:
        message = render_message(
            TemplateParts(subject=subject), values, from_email="archive@postroom.invalid",
            to="archive@postroom.invalid",
        )  # fmt: skip
    except ContentError:
        return campaign.name
    return message.subject or campaign.name
