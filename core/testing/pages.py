"""Reading a rendered page's HTML in tests."""

from __future__ import annotations

import re


def link_href(html: str, link_id: str) -> str | None:
    """The href of the link with this id, its `&amp;` unescaped; None when there is none."""
    found = re.search(rf'id="{re.escape(link_id)}"[^>]*href="([^"]+)"', html)
    return found.group(1).replace("&amp;", "&") if found else None
