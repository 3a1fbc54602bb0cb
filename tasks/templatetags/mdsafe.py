"""Markdown for issue texts, sanitised: the text comes from models and people, so nh3 keeps only
harmless tags and attributes (no scripts, no event handlers, no javascript: links)."""

from __future__ import annotations

import markdown as md
import nh3
from django import template
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

TAGS = {"p", "pre", "code", "ul", "ol", "li", "em", "strong", "blockquote", "h1", "h2", "h3", "h4",
        "a", "br", "hr", "table", "thead", "tbody", "tr", "th", "td"}


def render_markdown(text: str) -> SafeString:
    html = md.markdown(str(text or ""), extensions=["fenced_code", "tables"])
    return mark_safe(nh3.clean(html, tags=TAGS, attributes={"a": {"href"}}, url_schemes={"http", "https"}))  # noqa: S308


@register.filter(name="markdown")
def markdown_filter(value) -> SafeString:
    return render_markdown(value)
