"""English date formats of the project (settings.FORMAT_MODULE_PATH); the rest are Django's.

A time names its zone (TIME_ZONE, the service area's) with "T", which Django leaves empty in
the hour the clocks go back, the one hour it is ambiguous (core.times.local_when names it).
"""

DATETIME_FORMAT = "j M Y, H:i T"
SHORT_DATETIME_FORMAT = "j M Y, H:i T"
