"""The demo fleet: unicorns around Seattle, the original Wild Rydes city."""

from django.conf import settings

from rides.models import Unicorn

# name, colour, gender, offset from the city centre in degrees (lat, lon)
DEMO_FLEET = [
    ("Bucephalus", "golden", "male", (0.004, -0.006)),
    ("Shadowfax", "white", "male", (-0.003, 0.004)),
    ("Rocinante", "yellow", "female", (0.010, 0.012)),
    ("Sparkleshine", "pink", "female", (-0.012, -0.010)),
    ("Thunderhoof", "black", "male", (0.020, 0.002)),
    ("Moonbeam", "silver", "female", (-0.018, 0.015)),
    ("Stardust", "lavender", "nonbinary", (0.007, 0.025)),
    ("Blaze", "chestnut", "male", (-0.025, -0.020)),
    ("Willow", "dapple grey", "female", (0.030, -0.018)),
    ("Comet", "sky blue", "male", (-0.008, -0.030)),
    ("Aurora", "rainbow", "female", (0.015, -0.032)),
    ("Pegasus Jr.", "bronze", "male", (-0.032, 0.028)),
]


def seed_demo_fleet() -> int:
    """Create the missing demo unicorns; return how many were added."""
    added = 0
    city = settings.CITY_CENTER
    for name, color, gender, (dlat, dlon) in DEMO_FLEET:
        _, created = Unicorn.objects.get_or_create(
            name=name,
            defaults={
                "color": color,
                "gender": gender,
                "latitude": city[0] + dlat,
                "longitude": city[1] + dlon,
            },
        )
        added += created
    return added
