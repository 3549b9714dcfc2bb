"""How many personalised messages per second the renderer produces, as complete bytes.

A 4 KB HTML template (with a <style> block, inlined at compile time) plus its text part, five
placeholders, compiled once and rendered for N recipients on one core, each to the whole
RFC 5322 message (`RenderedMessage.raw`). The naive baseline builds the same message with
Python's `email.message.EmailMessage` for each recipient. Times are the process's CPU time,
so that the figure means "on one core" even on a busy machine.

    make bench-render                      # N=50000, best of 3 rounds
    .venv/bin/python bench/bench_render.py --n 200000 --rounds 5

It also times Jinja2's SandboxedEnvironment rendering only the three parts as strings, for the
record of why content.syntax exists.

Last line: RESULT msgs_per_s=… bytes_per_msg=… baseline_msgs_per_s=…
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "postroom.settings")

import django

django.setup()

from jinja2.sandbox import SandboxedEnvironment  # noqa: E402

from content.rendering import TemplateParts, compile_template  # noqa: E402

ROW = (
    '<tr><td class="cell" style="padding:8px 24px;font-family:Arial,sans-serif;">'
    "This month we shipped faster imports, better previews and a calmer dashboard for "
    "everyone.</td></tr>\n"
)
HTML = (
    "<!doctype html><html><head><meta charset='utf-8'><style>"
    ".cell { color: #333333; font-size: 15px; line-height: 1.5 } h1 { color: #111 }</style>"
    "</head><body><table role='presentation' width='100%'>\n"
    "<tr><td class='cell'><h1>Hello {first_name|there},</h1></td></tr>\n"
    "<tr><td class='cell'>News for everyone at {company|your team} in {city}.</td></tr>\n"
    + ROW
    * 20
    + "<tr><td class='cell'>Thanks for reading, {first_name|friend}.</td></tr>\n"
    "<tr><td class='cell'><a href='{unsubscribe_url}'>Unsubscribe</a></td></tr>\n"
    "</table></body></html>\n"
)
TEXT = (
    "Hello {first_name|there},\n\nNews for everyone at {company|your team} in {city}.\n\n"
    + "This month we shipped faster imports, better previews and a calmer dashboard.\n" * 12
    + "\nThanks for reading, {first_name|friend}.\nUnsubscribe: {unsubscribe_url}\n"
)
SUBJECT = "News for {first_name|you}"
# CPU time of this process: the figure is "per core", and on a shared machine wall time also
# counts the moments other processes held the core.
CLOCK = time.process_time


def recipients(n: int) -> list[dict[str, str]]:
    return [
        {
            "email": f"person{i}@example.com",
            "first_name": f"Person{i}" if i % 7 else "",
            "company": f"Company {i % 97}",
            "city": "Lisbon" if i % 2 else "Zürich",
            "unsubscribe_url": f"https://post.example.com/u/{i:08d}abcdef",
        }
        for i in range(n)
    ]


def run_compiled(people: list[dict[str, str]]) -> tuple[float, int]:
    compiled = compile_template(TemplateParts(subject=SUBJECT, html=HTML, text=TEXT))
    date = datetime(2026, 1, 1, tzinfo=UTC)
    total = 0
    start = CLOCK()
    for i, values in enumerate(people):
        message = compiled.render(
            values,
            from_email="news@example.com",
            from_name="Example News",
            to=values["email"],
            message_id=f"<{i}.bench@example.com>",
            date=date,
            extra_headers=(("List-Unsubscribe", f"<{values['unsubscribe_url']}>"),),
        )
        total += len(message.raw)
    return CLOCK() - start, total


def run_baseline(people: list[dict[str, str]]) -> float:
    """EmailMessage built per recipient from str.format-ed bodies (no escaping, no inlining)."""
    html = HTML.replace("{first_name|there}", "{first_name}").replace(
        "{first_name|friend}", "{first_name}"
    )
    html = html.replace("{company|your team}", "{company}")
    text = TEXT.replace("{first_name|there}", "{first_name}").replace(
        "{first_name|friend}", "{first_name}"
    )
    text = text.replace("{company|your team}", "{company}")
    start = CLOCK()
    for i, values in enumerate(people):
        message = EmailMessage(policy=SMTP)
        message["From"] = "Example News <news@example.com>"
        message["To"] = values["email"]
        message["Subject"] = SUBJECT.replace("{first_name|you}", values["first_name"] or "you")
        message["Message-ID"] = f"<{i}.bench@example.com>"
        message.set_content(text.format(**values))
        message.add_alternative(html.replace("{", "{{").replace("}", "}}"), subtype="html")
        message.as_bytes()
    return CLOCK() - start


def _jinja_source(source: str) -> str:
    """Our syntax in Jinja's for the comparison: `{a|b}` becomes `{{ a or 'b' }}`."""
    out = re.sub(r"\{([a-z_]+)\|([^{}]*)\}", r"{{ \1 or '\2' }}", source)
    return re.sub(r"\{([a-z_]+)\}", r"{{ \1 }}", out)


def run_jinja(people: list[dict[str, str]]) -> float:
    """Jinja2's SandboxedEnvironment rendering the subject and both bodies only (no MIME)."""
    env = SandboxedEnvironment(autoescape=False)
    html_env = SandboxedEnvironment(autoescape=True)
    subject, text = env.from_string(_jinja_source(SUBJECT)), env.from_string(_jinja_source(TEXT))
    html = html_env.from_string(_jinja_source(HTML))
    start = CLOCK()
    for values in people:
        subject.render(values)
        text.render(values)
        html.render(values)
    return CLOCK() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50_000)
    parser.add_argument("--baseline-n", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(
        f"template: HTML {len(HTML.encode())} bytes, text {len(TEXT.encode())} bytes, "
        "5 placeholders"
    )
    people = recipients(args.n)
    # The best of a few rounds: caches and other processes only ever slow a round down.
    elapsed, total = min(run_compiled(people) for _ in range(args.rounds))
    rate, size = args.n / elapsed, total // args.n
    print(
        f"compiled renderer: {args.n} messages in {elapsed:.2f}s = {rate:,.0f} msgs/s, "
        f"{size} bytes/message"
    )
    base_elapsed = run_baseline(recipients(args.baseline_n))
    base_rate = args.baseline_n / base_elapsed
    print(
        f"EmailMessage baseline: {args.baseline_n} messages in {base_elapsed:.2f}s = "
        f"{base_rate:,.0f} msgs/s ({rate / base_rate:.0f}x slower)"
    )
    jinja_elapsed = run_jinja(recipients(args.baseline_n * 5))
    jinja_rate = args.baseline_n * 5 / jinja_elapsed
    print(
        f"Jinja2 SandboxedEnvironment, bodies only (no MIME, no encoding): {jinja_rate:,.0f} msgs/s"
    )
    print(f"RESULT msgs_per_s={rate:.0f} bytes_per_msg={size} baseline_msgs_per_s={base_rate:.0f}")


if __name__ == "__main__":
    main()
