"""JSON bodies with a bound on nesting.

Python's json module recurses once per nested array or object: a few thousand levels raise
RecursionError (a 500), and anything that later walks the data (serializers, hashing for
idempotency, logging) recurses again. No request of this API nests more than a few levels,
so deeper bodies are refused with a 400 and a sentence, whoever sends them.
"""

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

DEFAULT_MAX_DEPTH = 32


class JSONTooDeep(ParseError):
    """The body is JSON, but nested deeper than the API accepts."""


def _too_deep(data, limit: int) -> bool:
    """Whether containers nest more than `limit` levels (iterative: no recursion)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


class DepthLimitedJSONParser(JSONParser):
    """DRF's JSONParser, refusing bodies nested deeper than JSON_MAX_DEPTH levels."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = getattr(settings, "JSON_MAX_DEPTH", DEFAULT_MAX_DEPTH)
        message = f"The JSON body is nested too deeply (at most {limit} levels)."
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise JSONTooDeep(message) from None
        if isinstance(data, dict | list) and _too_deep(data, limit):
            raise JSONTooDeep(message)
        return data
