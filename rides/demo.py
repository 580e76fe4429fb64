"""The demo fleet: unicorns around Seattle, the original Wild Rydes city."""

from django.conf import settings
from django.utils import timezone

from rides import services
from rides.models import Ride, Unicorn

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


# Two trips across town, as offsets from the city centre: (pickup, drop-off).
DEMO_TRIPS = [
    ((0.002, -0.004), (0.021, 0.011)),
    ((-0.011, 0.006), (0.004, -0.024)),
]


def seed_demo_rides(rider) -> int:
    """Finished rides for a rider who has none, ridden through the same services as any
    ride (events, notifications, fare payments, receipts), so that the history, the admin
    and the dashboard have something to show on a first run. Returns how many were added."""
    if Ride.objects.filter(rider=rider).exists():
        return 0
    city = settings.CITY_CENTER
    for pickup, dropoff in DEMO_TRIPS:
        ride = services.request_ride(
            rider=rider,
            pickup=services.Point(city[0] + pickup[0], city[1] + pickup[1]),
            dropoff=services.Point(city[0] + dropoff[0], city[1] + dropoff[1]),
        )
        # The demo skips the wait: the unicorn is at the pickup.
        Ride.objects.filter(pk=ride.pk).update(arrives_at=timezone.now())
        ride = services.board_ride(ride=ride, by=rider)
        services.complete_ride(ride=ride, by=rider)
    return len(DEMO_TRIPS)
