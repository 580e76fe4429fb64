"""The rides' AWS entry point: the scheduled sweep (an EventBridge rule set by Zappa)."""

from rides.services import settle_due_rides


def settle_on_schedule(event: dict, context=None) -> dict:
    """Record the arrivals and no-shows that time has made true of rides nobody is reading,
    so operators' lists and the riders' notifications stay current (reading a ride settles
    it anyway)."""
    return {"settled": settle_due_rides()}
