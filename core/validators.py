"""Validators more than one app's models use."""

import re

from django.core.exceptions import ValidationError

# Characters that change how the text around them reads without showing themselves: control
# characters (a line break, a tab) and the bidirectional formatting ones (after U+202E RIGHT-
# TO-LEFT OVERRIDE the rest of a sentence shows backwards, a ride's reference included).
_HIDDEN_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")

_ONE_LINE_MESSAGE = (
    "Use letters, digits, spaces and punctuation only: no line breaks, tabs or "
    "text-direction characters."
)


def validate_one_line(value: str) -> None:
    """A line of text other people will read (a name, a colour): any script, but no
    control or text-direction characters."""
    if _HIDDEN_CHARACTERS.search(value):
        raise ValidationError(_ONE_LINE_MESSAGE, code="hidden_characters")
