"""The size limit holds while a message is being built, and previews have a budget.

A template that repeats a long value many times must stop at the limit, not build a message
of gigabytes first; previews, which viewers may call, are throttled per person.
"""

import time
import tracemalloc
from typing import Any

import pytest
from django.urls import reverse

from audience.models import VALUE_MAX_CHARS
from content.rendering import RenderError, TemplateParts, compile_template
from content.tests.factories import TemplateFactory

ENVELOPE: dict[str, Any] = {"from_email": "news@example.com", "to": "ann@example.org"}
URL = "/api/templates/"


def _peak_bytes_of(call):
    tracemalloc.start()
    try:
        call()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


@pytest.mark.parametrize("part", ["html", "text", "subject"])
def test_a_repeated_long_value_stops_at_the_limit_in_bounded_memory(part):
    # 2,000 copies of a 50 KB value would be 100 MB of text (and as much again encoded);
    # the limit of 1 MB must be noticed after about 20 of them.
    repeated = "{first_name}" * (2000 if part != "subject" else 80)
    bodies: dict[str, Any] = {part: repeated} if part != "subject" else {"text": "t"}
    parts = TemplateParts(subject=repeated if part == "subject" else "s", **bodies)
    compiled = compile_template(parts, max_bytes=1_000_000)
    value = "A" * (50 * 1024 if part != "subject" else 500_000)

    def render():
        with pytest.raises(RenderError, match="larger than 1000000"):
            compiled.render({"first_name": value}, **ENVELOPE)

    started = time.perf_counter()
    peak = _peak_bytes_of(render)
    assert peak < 12_000_000, f"peak {peak:,} bytes"
    assert time.perf_counter() - started < 5


def test_the_limit_counts_every_part_and_a_message_at_it_renders():
    parts = TemplateParts(subject="{a}", html="<p>{a}</p>", text="{a}")
    compiled = compile_template(parts, max_bytes=300 + 7)  # 3 values + "<p></p>"
    message = compiled.render({"a": "x" * 100}, **ENVELOPE)
    assert message.text == "x" * 100
    with pytest.raises(RenderError):
        compiled.render({"a": "x" * 101}, **ENVELOPE)


def test_conditions_and_fallbacks_count_too():
    parts = TemplateParts(subject="s", text="{if a}{b}{else}{c|" + "f" * 50 + "}{endif}")
    compiled = compile_template(parts, max_bytes=60)
    assert compiled.render({"a": "1", "b": "x" * 59}, **ENVELOPE).text == "x" * 59
    with pytest.raises(RenderError):
        compiled.render({"a": "1", "b": "x" * 60}, **ENVELOPE)
    assert compiled.render({}, **ENVELOPE).text == "f" * 50
    compiled = compile_template(parts, max_bytes=50)  # "s" and the fallback: 51
    with pytest.raises(RenderError):
        compiled.render({}, **ENVELOPE)


def test_preview_values_are_capped_like_a_recipients(personas, api_for):
    template = TemplateFactory.create(workspace=personas.workspace, text_body="{first_name}")
    client = api_for("viewer")
    url = f"{URL}{template.pk}/preview/"
    fits = client.post(url, {"values": {"first_name": "A" * VALUE_MAX_CHARS}}, format="json")
    assert fits.status_code == 200
    assert fits.json()["text"].startswith("A" * VALUE_MAX_CHARS)
    too_long = client.post(
        url, {"values": {"first_name": "A" * (VALUE_MAX_CHARS + 1)}}, format="json"
    )
    assert too_long.status_code == 400
    many = {f"k{i}": "v" for i in range(201)}
    assert client.post(url, {"values": many}, format="json").status_code == 400


def test_api_previews_are_throttled_per_key(personas, api_for, settings):
    settings.PREVIEW_RATE = "3/min"
    template = TemplateFactory.create(workspace=personas.workspace)
    url = f"{URL}{template.pk}/preview/"
    viewer = api_for("viewer")
    assert [viewer.post(url, {}).status_code for _ in range(3)] == [200, 200, 200]
    refused = viewer.post(url, {})
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    # Another key's budget is its own; other calls with the same key are not affected.
    assert api_for("editor").post(url, {}).status_code == 200
    assert viewer.get(f"{URL}{template.pk}/").status_code == 200


def test_preview_pages_share_the_budget_with_the_api(personas, viewer_client, settings):
    settings.PREVIEW_RATE = "3/min"
    template = TemplateFactory.create(workspace=personas.workspace)
    page = reverse("content:preview", kwargs={"template_id": template.pk})
    frame = reverse("content:preview_frame", kwargs={"template_id": template.pk})
    assert viewer_client.get(page).status_code == 200
    assert viewer_client.get(frame).status_code == 200
    api = viewer_client.post(f"{URL}{template.pk}/preview/", {}, content_type="application/json")
    assert api.status_code == 200  # the same person through the API, signed in
    refused = viewer_client.get(page)
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert "Too many previews" in refused.content.decode()
    assert viewer_client.get(frame).status_code == 429
