"""How long the renderer takes to refuse a message past its size limit, and its memory.

The case that once took 25 s and grew a web process by 4 GB: a 240 KB template of one repeated
placeholder rendered with a 50 KB value (the old renderer built the whole message before it
compared its size with CONTENT_MAX_RENDERED_BYTES). Run it under /usr/bin/time -v for the peak
memory of the process:

    /usr/bin/time -v .venv/bin/python bench/bench_render_limit.py

Last line: RESULT compile_s=… render_s=… refused=…
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "postroom.settings")

import django

django.setup()

from content.rendering import RenderError, TemplateParts, compile_template  # noqa: E402


def main() -> None:
    html = "{first_name}" * (240 * 1024 // len("{first_name}"))
    value = "A" * 50 * 1024
    started = time.perf_counter()
    compiled = compile_template(TemplateParts(subject="Hi", html=html, text="x"))
    compiled_at = time.perf_counter()
    try:
        compiled.render({"first_name": value}, from_email="a@example.com", to="b@example.com")
        refused = False
    except RenderError as exc:
        print(f"refused: {exc}")
        refused = True
    done = time.perf_counter()
    print(
        f"template {len(html):,} characters ({html.count('{'):,} placeholders), value "
        f"{len(value):,}: compiled in {compiled_at - started:.2f}s, rendered in "
        f"{done - compiled_at:.2f}s"
    )
    print(
        f"RESULT compile_s={compiled_at - started:.2f} render_s={done - compiled_at:.2f} "
        f"refused={refused}"
    )


if __name__ == "__main__":
    main()
