"""Render terminal output with ANSI colours safely: escape first, then wrap SGR runs in spans.

Container output is untrusted, so the text is HTML-escaped before any markup is added; the only
markup this filter emits is `<span class="ansi-...">` with class names from a fixed table.
"""

from __future__ import annotations

import re

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

SGR = re.compile(r"\x1b\[([0-9;]*)m")
# An OSC runs to BEL or ST; scanning stops at the next ESC, so many unterminated ones stay linear
# (a bare `ESC ]` is then dropped as a two-byte escape and its text shown, escaped).
OTHER_ESCAPES = re.compile(r"\x1b(?:\[[0-9;?]*[A-Za-ln-z]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
COLOURS = ["black", "red", "green", "yellow", "blue", "magenta", "cyan", "white"]


def _classes(codes: list[int], current: set[str]) -> set[str]:
    classes = set(current)
    for code in codes:
        if code == 0:
            classes.clear()
        elif code == 1:
            classes.add("ansi-bold")
        elif code == 22:
            classes.discard("ansi-bold")
        elif 30 <= code <= 37 or 90 <= code <= 97:
            classes = {c for c in classes if not c.startswith("ansi-fg-")}
            classes.add(f"ansi-fg-{COLOURS[code % 10]}")
        elif code == 39:
            classes = {c for c in classes if not c.startswith("ansi-fg-")}
        elif 40 <= code <= 47:
            classes = {c for c in classes if not c.startswith("ansi-bg-")}
            classes.add(f"ansi-bg-{COLOURS[code % 10]}")
        elif code == 49:
            classes = {c for c in classes if not c.startswith("ansi-bg-")}
    return classes


def ansi_to_html(text: str) -> SafeString:
    """Escape `text`, then turn SGR colour codes into spans; other escape sequences are dropped."""
    text = OTHER_ESCAPES.sub("", str(text or ""))
    out: list[str] = []
    classes: set[str] = set()
    pos = 0
    for match in SGR.finditer(text):
        out.append(_wrap(escape(text[pos : match.start()]), classes))
        codes = [int(c) for c in match.group(1).split(";") if c.isdigit()] or [0]
        classes = _classes(codes, classes)
        pos = match.end()
    out.append(_wrap(escape(text[pos:]), classes))
    return mark_safe("".join(out))  # noqa: S308 - every piece of text above went through escape()


def _wrap(escaped: str, classes: set[str]) -> str:
    if not escaped or not classes:
        return escaped
    return f'<span class="{" ".join(sorted(classes))}">{escaped}</span>'


@register.filter(name="ansi")
def ansi_filter(value) -> SafeString:
    return ansi_to_html(value)
