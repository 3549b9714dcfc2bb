"""Starter templates: well-formed, table-based HTML that mail programs show as intended.

Layout uses tables and class rules in one `<style>` block, which the renderer inlines at
compile time, so that clients that drop `<style>` (some webmail) still show the design.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from django.utils.translation import gettext_noop

from content.blocks import Block, blocks_to_mjml, new_block
from content.mjml_compile import mjml_to_html

STARTERS_DIR = Path(__file__).resolve().parent / "starters"


@dataclass(frozen=True)
class Starter:
    key: str
    # English: a template made from it takes this name. The gallery translates it and the
    # description (both marked for the catalog).
    name: str
    description: str
    subject: str
    # A block starter is made of these (a template made from it opens in the block editor);
    # the others are HTML files in starters/.
    blocks: tuple[Block, ...] = field(default=())

    def html(self) -> str:
        if self.blocks:
            return mjml_to_html(blocks_to_mjml(self.blocks))
        return (STARTERS_DIR / f"{self.key}.html").read_text(encoding="utf-8")


ANNOUNCEMENT_BLOCKS = (
    new_block("spacer", height="24"),
    new_block("text", text="Something new is here", align="center"),
    new_block(
        "text",
        text="{first_name|Hello}, we have just launched something we think you will like. "
        "One sentence on what it is, one on why it matters to you.",
        align="center",
    ),
    new_block("button", label="See what is new", href="https://example.com/", color="#4f46e5"),
    new_block("divider"),
    new_block(
        "footer",
        text="You receive this because you subscribed.",
        unsubscribe_label="Unsubscribe",
        preferences_label="Your subscriptions",
    ),
)


STARTERS = (
    Starter(
        "letter",
        gettext_noop("Plain letter"),
        gettext_noop("A personal letter: one column, serif text."),
        "A note for {first_name|you}",
    ),
    Starter(
        "newsletter",
        gettext_noop("Newsletter"),
        gettext_noop("A masthead, a greeting and three short stories."),
        "The Monthly Update for {first_name|you}",
    ),
    Starter(
        "announcement",
        gettext_noop("Announcement"),
        gettext_noop("One headline, one paragraph and a button."),
        "Something new for {first_name|you}",
    ),
    Starter(
        "announcement-blocks",
        gettext_noop("Announcement in blocks"),
        gettext_noop("The announcement as blocks: change it in the block editor, no HTML."),
        "Something new for {first_name|you}",
        blocks=ANNOUNCEMENT_BLOCKS,
    ),
)


def starter(key: str) -> Starter | None:
    return next((s for s in STARTERS if s.key == key), None)
