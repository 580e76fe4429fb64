"""`{% load leaflet_tags %}`: django-leaflet's own tag library, unchanged."""

from leaflet.templatetags.leaflet_tags import register

__all__ = ["register"]
