"""Accessibility rules that hold for every template, checked without a browser (the browser
tests run axe on the rendered pages: tests/test_e2e.py)."""

import re
from pathlib import Path

TEMPLATES = Path(__file__).parent.parent / "app" / "templates"


def test_every_scrolling_table_box_can_be_reached_with_the_keyboard() -> None:
    # A wide table scrolls inside its box on a phone; a keyboard user scrolls it only if the box
    # takes focus (axe: scrollable-region-focusable).
    unreachable = [
        f"{path.relative_to(TEMPLATES)}: {tag}"
        for path in sorted(TEMPLATES.rglob("*.html"))
        for tag in re.findall(r"<div[^>]*\bclass=\"table-wrap\"[^>]*>", path.read_text("utf-8"))
        if 'tabindex="0"' not in tag
    ]
    assert unreachable == []
