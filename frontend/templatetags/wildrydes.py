"""Presentation helpers for the rider pages."""

from django import template

from core.times import local_when

register = template.Library()

# A swatch for the colours unicorns usually come in; anything else gets the house lavender.
_COATS = {
    "white": "#ffffff",
    "black": "#2b2b33",
    "golden": "#f4c542",
    "gold": "#f4c542",
    "yellow": "#ffe066",
    "pink": "#ff9ecb",
    "silver": "#d7dbe3",
    "grey": "#b9b9c3",
    "gray": "#b9b9c3",
    "dapple grey": "#c9c9cf",
    "lavender": "#d9c8ff",
    "purple": "#b38cff",
    "chestnut": "#b5653a",
    "brown": "#9a6b45",
    "bronze": "#cd8c52",
    "sky blue": "#9fd8ff",
    "blue": "#8fb8ff",
    "green": "#9be3b5",
    "red": "#ff8a80",
    "rainbow": "linear-gradient(135deg, #ff5fa2, #ffb347, #7fd8be, #8f7cff)",
}


@register.filter
def coat_color(color: str) -> str:
    return _COATS.get((color or "").strip().lower(), "#efe7fb")


# "7 December 2026, 02:54 PST": in the service area's zone, named even when the clocks go back.
register.filter("local_when", local_when)
