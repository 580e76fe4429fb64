"""Change-list cells that keep a list within the screen (rides/static/rides/admin-site.css)."""

from django.utils.html import format_html


def cut(text) -> str:
    """`text` on one line, cut with an ellipsis where its column ends; the whole of it in the
    cell's title (shown on hover) and in a CSV export (the tags are dropped)."""
    if text in (None, ""):
        return None
    return format_html('<span class="cut" title="{}">{}</span>', text, text)
