"""An attachment as a download, for the pages and the API alike."""

from __future__ import annotations

from django.http import FileResponse, Http404

from content.models import TemplateAttachment


def attachment_response(attachment: TemplateAttachment) -> FileResponse:
    """The file as stored, streamed in blocks from its storage (never read whole into memory)
    and always as a download: never shown inline in Postroom's origin."""
    try:
        handle = attachment.file.open("rb")
    except OSError as exc:
        raise Http404("The file is missing.") from exc
    # FileResponse closes the file when the response is done, and sets Content-Length and
    # Content-Disposition ("attachment", the name encoded per RFC 6266 where it needs it).
    return FileResponse(
        handle,
        as_attachment=True,
        filename=attachment.filename,
        content_type=attachment.content_type,
    )
