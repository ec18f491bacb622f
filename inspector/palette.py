"""The colours of the inspector's HTML: a card of its own, readable in light and dark themes.

Why a card: no text colour reads on both a light and a dark page. WCAG's 4.5:1 for text
against white needs a relative luminance under 0.18; against JupyterLab's dark
background (#111111), one over 0.20. So the view brings its own background and ink (set
on its <pre>), as the SVG pictures do, and each of the sixteen colours rich may use is
at least 4.5:1 on that card (tests/inspector/test_contrast.py computes every one the
HTML uses). The non-colour cues (bold, the `|` where a read ended, the words) stay.
"""

from __future__ import annotations

import re

from rich.terminal_theme import TerminalTheme

__all__ = ["CARD", "INK", "THEME", "card_style", "reverse_on_card"]

CARD = "#ffffff"  # the view's own background, whatever the notebook's theme
INK = "#1b1b1b"  # its text where no colour is given: 17:1 on the card

_RED = (0xB3, 0x26, 0x1E)
_GREEN = (0x1E, 0x7A, 0x34)
_YELLOW = (0x8A, 0x61, 0x00)  # a dark amber: a bright yellow is unreadable on white
_BLUE = (0x1F, 0x57, 0xC3)
_MAGENTA = (0x9C, 0x27, 0xB0)
_CYAN = (0x00, 0x70, 0x7A)
_GREY = (0x59, 0x59, 0x59)  # rich's "white": the default bar of a timeline, drawn on white

THEME = TerminalTheme(
    # rich uses the theme's background for one thing here: "dim" text is its colour
    # blended halfway toward it. Toward the card's white, dim ink would be 4.0:1; toward
    # this grey it is #6d6d6d, 5.2:1 on the card, and still lighter than the ink.
    background=(0xC0, 0xC0, 0xC0),
    foreground=(0x1B, 0x1B, 0x1B),
    normal=[(0x1B, 0x1B, 0x1B), _RED, _GREEN, _YELLOW, _BLUE, _MAGENTA, _CYAN, _GREY],
    # bright_white is the one colour meant for text on a coloured background only
    bright=[_GREY, _RED, _GREEN, _YELLOW, _BLUE, _MAGENTA, _CYAN, (0xFF, 0xFF, 0xFF)],
)


def card_style() -> str:
    """The <pre>'s colours: the card and its ink, with a little room around the text."""
    return f"background:{CARD};color:{INK};padding:4px 6px;border-radius:4px;"


_SPAN_STYLE = re.compile(r'<span style="([^"]*)">')


def reverse_on_card(html: str) -> str:
    """Give text on a coloured background (rich's `reverse`) the card's colour.

    rich swaps colour and background for `reverse`, and for text with no colour of its
    own it writes the background only, leaving the text in the ink: dark on dark red. In
    a terminal that text is in the terminal's background colour; here, the card's.
    """

    def fix(match: re.Match[str]) -> str:
        rules = [rule.strip() for rule in match.group(1).split(";") if rule.strip()]
        names = {rule.split(":", 1)[0].strip() for rule in rules}
        if "background-color" in names and "color" not in names:
            rules.insert(0, f"color: {CARD}")
        return f'<span style="{"; ".join(rules)}">'

    return _SPAN_STYLE.sub(fix, html)
