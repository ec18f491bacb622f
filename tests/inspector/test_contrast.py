"""The inspector's notebook HTML reads on light and dark Jupyter themes.

Every colour the HTML really uses (parsed from views rendered after real requests) is
held to WCAG 2's 4.5:1 for text, on the background it is drawn on: the span's own, else
the view's <pre>, else the page, which is white (#ffffff) in JupyterLab's light theme
and #111111 in its dark one. Both pages are tried, so a view that leaves its text on the
page's background must read on both.
"""

from __future__ import annotations

import asyncio
import io
import logging
import re

from rich.console import Console

import sketch
from inspector.demo import run_demo
from inspector.model import Model
from inspector.notebook import to_html
from inspector.server_views import Dashboard, Timeline
from inspector.views import view_of
from sketch import web

PAGES = {"light": "#ffffff", "dark": "#111111"}
MINIMUM = 4.5  # WCAG 2.1, 1.4.3: text (and the bars drawn with text glyphs)


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def luminance(colour: str) -> float:
    """WCAG 2's relative luminance of #rrggbb."""
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_the_contrast_formula_gives_wcags_known_values():
    assert round(contrast("#000000", "#ffffff"), 1) == 21.0
    assert round(contrast("#767676", "#ffffff"), 2) == 4.54  # the lightest AA grey on white
    assert round(contrast("#000080", "#111111"), 1) == 1.2  # rich's navy on a dark page


def _rules(style: str) -> dict[str, str]:
    pairs = (rule.split(":", 1) for rule in style.split(";") if ":" in rule)
    return {name.strip(): value.strip().lower() for name, value in pairs}


def _colour(rules: dict[str, str], *names: str) -> str | None:
    for name in names:
        if re.fullmatch(r"#[0-9a-f]{6}", rules.get(name, "")):
            return rules[name]
    return None


def pairs_drawn(html: str, page: str) -> set[tuple[str, str]]:
    """Each (text colour, background colour) the HTML draws, on a page of colour `page`."""
    drawn = set()
    for pre, body in re.findall(r'<pre[^>]*style="([^"]*)"[^>]*>(.*?)</pre>', html, re.S):
        rules = _rules(pre)
        ground = _colour(rules, "background-color", "background") or page
        ink = _colour(rules, "color")
        if ink is not None:
            drawn.add((ink, ground))
        for style in re.findall(r'<span style="([^"]*)"', body):
            span = _rules(style)
            colour = _colour(span, "color") or ink
            behind = _colour(span, "background-color", "background") or ground
            if colour is not None:
                drawn.add((colour, behind))
            elif behind != ground:  # text in the page's own ink on a coloured patch
                drawn.add(("#000000" if page == PAGES["light"] else "#ffffff", behind))
    return drawn


async def _refused() -> Model:
    """A request sketch refuses over a real socket: a control byte in a header value."""
    app = web.Application()
    model = Model()
    app.tracer.subscribe(model.feed)
    async with await sketch.serve(app) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"GET /users/1 HTTP/1.1\r\nHost: x\x01y\r\n\r\n")
        await reader.read()
        writer.close()
        await writer.wait_closed()
    return model


async def _every_view_as_html() -> str:
    level = logging.getLogger("sketch.server").level
    try:
        toured = await run_demo(Console(file=io.StringIO(), width=100))
    finally:
        logging.getLogger("sketch.server").setLevel(level)
    refused = await _refused()
    assert refused.recent and refused.recent[-1].status == 400
    html = []
    for model in (toured, refused):
        for trace in model.recent:
            for view in ("tree", "ruler", "whynot", "onion"):
                html.append(to_html(view_of(trace, view)))
        html.append(to_html(Timeline(model.server, model.recent)))
        html.append(to_html(Dashboard(model)))
    return "\n".join(html)


async def test_every_colour_in_the_notebook_html_reads_on_light_and_dark_pages():
    html = await _every_view_as_html()
    for theme, page in PAGES.items():
        drawn = pairs_drawn(html, page)
        assert len({text for text, _ in drawn}) >= 8, drawn  # the views' colours were seen
        poor = sorted(
            f"{text} on {ground}: {contrast(text, ground):.2f}:1"
            for text, ground in drawn
            if contrast(text, ground) < MINIMUM
        )
        assert poor == [], f"{theme} theme: text below {MINIMUM}:1: {poor}"


def test_text_on_a_coloured_background_is_drawn_in_the_cards_colour():
    from rich.text import Text

    html = to_html(Text("|", "bold red reverse"))
    [style] = re.findall(r'<span style="([^"]*)"', html)
    rules = _rules(style)
    assert rules["color"] == "#ffffff" and rules["background-color"] != "#ffffff"


def test_the_non_colour_cues_stay():
    from rich.text import Text

    html = to_html(Text.assemble(("handler ", "bold"), ("note", "italic")))
    assert "font-weight: bold" in html and "font-style: italic" in html


async def test_a_view_exported_as_html_reads_on_its_page(tmp_path):
    from inspector.record import export_view

    level = logging.getLogger("sketch.server").level
    try:
        toured = await run_demo(Console(file=io.StringIO(), width=100))
    finally:
        logging.getLogger("sketch.server").setLevel(level)
    path = export_view(view_of(toured.recent[-1], "tree"), tmp_path / "tree.html", title="a<b")
    html = path.read_text(encoding="utf-8")
    assert "<title>a&lt;b</title>" in html
    for page in PAGES.values():
        drawn = pairs_drawn(html, page)
        assert drawn and all(contrast(text, ground) >= MINIMUM for text, ground in drawn), drawn
