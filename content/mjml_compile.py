"""MJML to HTML, on the server, with MRML (the Rust port of MJML, through `mjml-python`).

Called when an MJML or block template is saved, never per recipient: the HTML it returns is
stored as the template's `html_body`, where the personalisation language (content.syntax) works
on it as on any HTML template. Placeholders and conditionals pass through MRML unchanged inside
text, buttons and attributes, because to MJML they are plain characters.

MRML's errors say what is wrong but not where. When it refuses a source, the source is also
read by an XML parser (with HTML's entities and void tags allowed, as MJML allows them), whose
error carries a line: it is given as the place to look.
"""

from __future__ import annotations

import html.entities
import re
import xml.parsers.expat

from django.utils.translation import gettext as _
from mjml import mjml2html

from content.syntax import TemplateSyntaxError

PART = "MJML"
_ENTITY = re.compile(r"&([A-Za-z][A-Za-z0-9]*);")
_VOID = re.compile(r"<(br|hr|img|meta|link|input|col|wbr|source)\b([^<>]*?)/?>", re.IGNORECASE)


def mjml_to_html(source: str) -> str:
    """The responsive HTML of an MJML document.

    Raises TemplateSyntaxError (part "MJML", with a line when one can be found) for a source
    MRML cannot compile; the message is fit to show under the MJML field.
    """
    if not source.strip():
        raise TemplateSyntaxError(_("Write the MJML of the message."), part=PART)
    try:
        return mjml2html(source, disable_comments=True)
    except ValueError as exc:
        # MRML's reason is English and technical; it is shown after our own sentence.
        message = _("The MJML does not compile: %(reason)s.") % {"reason": str(exc)}
        raise TemplateSyntaxError(message, part=PART, line=_xml_error_line(source)) from exc


def _xml_error_line(source: str) -> int:
    """The line of the first XML fault in `source`, or 0 when the XML parser finds none."""
    # Both substitutions keep every line where it was, so the parser's line is the user's.
    known = html.entities.name2codepoint
    text = _ENTITY.sub(lambda m: m.group(0) if m.group(1) not in known else "&amp;", source)
    text = _VOID.sub(lambda m: f"<{m.group(1)}{m.group(2)}/>", text)
    parser = xml.parsers.expat.ParserCreate()
    try:
        parser.Parse(text, True)
    except xml.parsers.expat.ExpatError as exc:
        return int(exc.lineno)
    return 0
