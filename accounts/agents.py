"""What a person recognises of a browser in a list of sessions."""

from __future__ import annotations

import re

_BROWSERS = (("Edge", r"Edg/"), ("Opera", r"OPR/"), ("Chrome", r"Chrome/|Chromium/"),
             ("Firefox", r"Firefox/"), ("Safari", r"Safari/"))  # fmt: skip
_SYSTEMS = (("Android", r"Android"), ("iOS", r"iPhone|iPad"), ("Windows", r"Windows"),
            ("macOS", r"Mac OS X|Macintosh"), ("Linux", r"Linux|X11"))  # fmt: skip


def describe_agent(user_agent: str) -> str:
    """'Firefox on Linux' from a User-Agent header: what a person recognises in a list."""
    browser = next((name for name, rx in _BROWSERS if re.search(rx, user_agent)), "")
    system = next((name for name, rx in _SYSTEMS if re.search(rx, user_agent)), "")
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or (user_agent[:60] if user_agent else "Unknown device")
