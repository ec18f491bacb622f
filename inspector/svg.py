"""A small SVG writer for the pictures: elements as strings, on a white card.

Hand-written, no dependency: what is drawn is plain SVG 1.1 that a browser, JupyterLab,
nbconvert and a slide tool all show the same way.

Why a white card: JupyterLab's dark theme shows an SVG output on a dark page. A picture
drawn on its own light background rect keeps the contrast it was designed with on any
theme. Every colour that text uses below has a contrast of at least 4.5:1 (WCAG AA)
against white and against every tint the pictures fill under text; a test checks it.
Colour is never the only cue: statuses are written, returns are dashed, waits hatched.
"""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

__all__ = ["Canvas", "Picture", "HALO", "INK", "MUTED", "STATUS_INK", "STATUS_TINT", "text_width"]

FONT = "DejaVu Sans Mono, Menlo, Consolas, monospace"
FONT_SIZE = 12
CHAR_EM = 0.61  # a monospace glyph's width in em: enough to size boxes by characters

BACKGROUND = "#ffffff"
BORDER = "#d0d7de"
INK = "#1f2328"  # 15.8:1 on white
MUTED = "#57606a"  # 6.2:1 on white
LANE = "#8c959f"  # lane lines and bar outlines: not text
HALO = {"stroke": BACKGROUND, "stroke_width": 3, "paint_order": "stroke"}  # text over lines
STATUS_INK = {2: "#116329", 3: "#0550ae", 4: "#7d4e00", 5: "#a40e26", 0: "#57606a"}
STATUS_TINT = {2: "#dafbe1", 3: "#ddf4ff", 4: "#fff8c5", 5: "#ffebe9", 0: "#eaeef2"}


def text_width(text: str, size: float = FONT_SIZE) -> float:
    return len(text) * size * CHAR_EM


def status_kind(status: int | None) -> int:
    return 0 if status is None else status // 100 if 2 <= status // 100 <= 5 else 0


def fit(text: str, width: float, size: float = FONT_SIZE) -> str:
    """`text` cut with an ellipsis to fit `width` pixels at font `size`."""
    chars = max(1, int(width / (size * CHAR_EM)))
    return text if len(text) <= chars else text[: chars - 1] + "…"


def _attrs(attrs: dict[str, object]) -> str:
    # Python names to SVG names: stroke_width -> stroke-width, class_ -> class.
    return "".join(
        f" {key.rstrip('_').replace('_', '-')}={quoteattr(str(value))}"
        for key, value in attrs.items()
        if value is not None
    )


class Canvas:
    """Elements appended in drawing order; `svg()` wraps them in a white card."""

    def __init__(self, width: float, height: float, title: str) -> None:
        self.width, self.height, self.title = width, height, title
        self.parts: list[str] = []

    def add(self, tag: str, text: str | None = None, **attrs: object) -> None:
        if text is None:
            self.parts.append(f"<{tag}{_attrs(attrs)}/>")
        else:
            self.parts.append(f"<{tag}{_attrs(attrs)}>{escape(text)}</{tag}>")

    def begin(self, tag: str, **attrs: object) -> None:
        self.parts.append(f"<{tag}{_attrs(attrs)}>")

    def end(self, tag: str) -> None:
        self.parts.append(f"</{tag}>")

    def text(self, x: float, y: float, text: str, fill: str = INK, **attrs: object) -> None:
        self.add("text", text, x=round(x, 1), y=round(y, 1), fill=fill, **attrs)

    def line(self, x1: float, y1: float, x2: float, y2: float, **attrs: object) -> None:
        self.add(
            "line", x1=round(x1, 1), y1=round(y1, 1), x2=round(x2, 1), y2=round(y2, 1), **attrs
        )

    def rect(self, x: float, y: float, width: float, height: float, **attrs: object) -> None:
        self.add(
            "rect",
            x=round(x, 1),
            y=round(y, 1),
            width=round(width, 1),
            height=round(height, 1),
            **attrs,
        )

    def svg(self) -> str:
        width, height = round(self.width), round(self.height)
        head = (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" font-family={quoteattr(FONT)} '
            f'font-size="{FONT_SIZE}">'
        )
        defs = (
            "<defs>"
            '<marker id="head" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
            'markerHeight="7" orient="auto-start-reverse">'
            f'<path d="M0,0 L10,5 L0,10 z" fill="{INK}"/>'
            "</marker>"
            '<pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
            f'patternTransform="rotate(45)"><rect width="6" height="6" fill="{STATUS_TINT[0]}"/>'
            f'<line x1="0" y1="0" x2="0" y2="6" stroke="{LANE}" stroke-width="2"/></pattern>'
            "</defs>"
        )
        card = (
            f'<rect class="background" x="0.5" y="0.5" width="{width - 1}" height="{height - 1}" '
            f'rx="6" fill="{BACKGROUND}" stroke="{BORDER}"/>'
        )
        return "".join(
            [head, f"<title>{escape(self.title)}</title>", defs, card, *self.parts, "</svg>"]
        )


class Picture:
    """An SVG picture: shown inline by Jupyter (`_repr_svg_`), saved with `save()`.

    SVG, not a widget or HTML with scripts: an `image/svg+xml` output is kept as it is
    by nbclient and nbconvert, so handouts show the picture the notebook showed.
    """

    def __init__(self, svg: str, summary: str) -> None:
        self.svg = svg
        self.summary = summary

    def _repr_svg_(self) -> str:
        return self.svg

    def __repr__(self) -> str:  # a terminal, or a notebook that does not show SVG
        return self.summary

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        if path.suffix != ".svg":
            raise ValueError(f"a picture is saved as .svg, got {path.name!r}")
        path.write_text(self.svg, encoding="utf-8")
        return path
