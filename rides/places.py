"""Places riders know, for pickups and drop-offs: "Capitol Hill", not "47.625, -122.322".

The demo service area is Seattle (settings.SERVICE_AREA), so the places are Seattle's
neighbourhoods and the towns around it within the area, each with a point near its middle.
A point is named after the nearest place within PLACE_RADIUS_KM; farther from every place
(the middle of a lake, or a service area moved to another city) it has no name, and pages
show its coordinates as before. Names are approximate by design: a place says where a ride
went, the coordinates say exactly where.
"""

import math

from core.geo import haversine_km

PLACE_RADIUS_KM = 2.0

# (name, latitude, longitude): Seattle's neighbourhoods, then the towns around it.
PLACES = (
    ("Downtown Seattle", 47.6062, -122.3321),
    ("Pioneer Square", 47.6016, -122.3343),
    ("Chinatown-International District", 47.5980, -122.3240),
    ("Belltown", 47.6148, -122.3470),
    ("South Lake Union", 47.6256, -122.3376),
    ("Capitol Hill", 47.6253, -122.3222),
    ("First Hill", 47.6090, -122.3240),
    ("Central District", 47.6080, -122.3010),
    ("Lower Queen Anne", 47.6235, -122.3560),
    ("Queen Anne", 47.6370, -122.3570),
    ("Eastlake", 47.6415, -122.3265),
    ("Montlake", 47.6400, -122.3030),
    ("Madison Park", 47.6330, -122.2790),
    ("Madrona", 47.6130, -122.2890),
    ("Leschi", 47.6000, -122.2900),
    ("Mount Baker", 47.5780, -122.2900),
    ("Beacon Hill", 47.5680, -122.3110),
    ("SoDo", 47.5800, -122.3350),
    ("Georgetown", 47.5460, -122.3210),
    ("Columbia City", 47.5590, -122.2860),
    ("Rainier Beach", 47.5220, -122.2690),
    ("Fremont", 47.6510, -122.3500),
    ("Wallingford", 47.6615, -122.3340),
    ("University District", 47.6615, -122.3130),
    ("Laurelhurst", 47.6610, -122.2760),
    ("Ravenna", 47.6760, -122.3010),
    ("Sand Point", 47.6830, -122.2620),
    ("Green Lake", 47.6790, -122.3260),
    ("Phinney Ridge", 47.6760, -122.3540),
    ("Greenwood", 47.6900, -122.3550),
    ("Ballard", 47.6687, -122.3845),
    ("Interbay", 47.6450, -122.3790),
    ("Magnolia", 47.6500, -122.4000),
    ("Northgate", 47.7060, -122.3250),
    ("Lake City", 47.7190, -122.2950),
    ("Alki", 47.5760, -122.4090),
    ("West Seattle Junction", 47.5610, -122.3870),
    ("White Center", 47.5170, -122.3550),
    ("Shoreline", 47.7557, -122.3415),
    ("Kenmore", 47.7573, -122.2440),
    ("Bothell", 47.7623, -122.2054),
    ("Woodinville", 47.7543, -122.1635),
    ("Kirkland", 47.6769, -122.2060),
    ("Redmond", 47.6740, -122.1215),
    ("Medina", 47.6204, -122.2279),
    ("Bellevue", 47.6101, -122.2015),
    ("Mercer Island", 47.5707, -122.2221),
    ("Newcastle", 47.5390, -122.1557),
    ("Renton", 47.4829, -122.2171),
    ("Tukwila", 47.4740, -122.2610),
    ("Burien", 47.4700, -122.3468),
    ("SeaTac", 47.4435, -122.3017),
    ("Bainbridge Island", 47.6262, -122.5210),
    ("Edmonds", 47.8107, -122.3774),
    ("Lynnwood", 47.8209, -122.3151),
)


def place_near(latitude: float, longitude: float) -> str | None:
    """The name of the place nearest to the point, if one lies within PLACE_RADIUS_KM;
    None for a point on no map (an infinite or NaN coordinate: math.cos refuses infinity)."""
    if not (math.isfinite(latitude) and math.isfinite(longitude)):
        return None
    km, name = min((haversine_km(latitude, longitude, lat, lon), name) for name, lat, lon in PLACES)
    return name if km <= PLACE_RADIUS_KM else None
