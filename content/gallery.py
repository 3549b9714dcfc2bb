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

NEWSLETTER_BLOCKS = (
    new_block("spacer", height="16"),
    new_block("text", text="The Monthly Update", align="center"),
    new_block("text", text="Hello {first_name|there}, here is what is new this month."),
    new_block(
        "text",
        text="First story\nA sentence or two about the first story: what happened, and why it "
        "matters to your readers.",
    ),
    new_block("button", label="Read the first story", href="https://example.com/", align="left"),
    new_block("divider"),
    new_block(
        "columns",
        count="2",
        column_1="Tip of the month\nOne useful thing your readers can do today.",
        column_2="Coming up\nAn event, a date, or a question for your readers.",
    ),
    new_block("divider"),
    new_block("social", facebook="https://facebook.com/", instagram="https://instagram.com/"),
    new_block(
        "footer",
        text="You receive this newsletter as {email}.",
        unsubscribe_label="Unsubscribe",
        preferences_label="Your subscriptions",
    ),
)

LETTER_BLOCKS = (
    new_block("spacer", height="24"),
    new_block("text", text="Dear {first_name|friend},"),
    new_block(
        "text",
        text="A personal letter reads best as a few short paragraphs in one column, with no "
        "pictures and a single clear request, if any.",
    ),
    new_block("text", text="Warm regards,\n{company|Your team}"),
    new_block(
        "footer",
        text="You receive this because you subscribed.",
        unsubscribe_label="Unsubscribe",
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
    Starter(
        "newsletter-blocks",
        gettext_noop("Newsletter in blocks"),
        gettext_noop(
            "A masthead, a story with its button, two columns and social links: all blocks."
        ),
        "The Monthly Update for {first_name|you}",
        blocks=NEWSLETTER_BLOCKS,
    ),
    Starter(
        "letter-blocks",
        gettext_noop("Letter in blocks"),
        gettext_noop("The plain letter as blocks: a greeting, paragraphs and a signature."),
        "A note for {first_name|you}",
        blocks=LETTER_BLOCKS,
    ),
)


def starter(key: str) -> Starter | None:
    return next((s for s in STARTERS if s.key == key), None)
