"""A template rendered for one recipient, or with sample values: what the API's preview shows.

Like the editor's preview: the built-in samples first, the recipient's own values over them,
then any values the caller gives. Attachment files are not read: a preview shows the parts.
"""

from __future__ import annotations

from collections.abc import Mapping

from accounts.models import Workspace
from audience.models import Recipient
from audience.selectors import placeholder_names, recipient_values
from content import selectors
from content.message import RenderedMessage
from content.models import Template
from content.rendering import SAMPLE_VALUES, TemplateParts, render_message, sample_values


def template_preview(
    workspace: Workspace,
    template: Template,
    *,
    recipient: Recipient | None = None,
    values: Mapping[str, str] | None = None,
) -> RenderedMessage:
    """The template rendered once. Raises ContentError (RenderError) when it cannot be."""
    merged = sample_values(placeholder_names(workspace))
    if recipient is not None:
        merged |= recipient_values(recipient, selectors.field_keys(workspace))
    merged |= dict(values or {})
    parts = TemplateParts(
        subject=template.subject,
        html=template.html_body,
        text=template.text_body,
        text_from_html=template.text_from_html,
    )
    return render_message(
        parts,
        merged,
        from_email="sender@example.com",
        from_name=workspace.name,
        to=merged.get("email") or SAMPLE_VALUES["email"],
    )
