"""How other apps ask for a discount: in-process by default, over HTTP when configured.

With PROMO_SERVICE_URL and PROMO_SERVICE_KEY set, the draw goes to another deployment's
`POST /api/promos/discounts/` with a short timeout and one retry on connection errors.
Whatever goes wrong (down, slow, nonsense), the caller gets no discount (1.00) and the
failure is logged with the ride id: a ride is never refused or delayed for a promo.

The promo budget is only spent on rides that exist: when the ride is not booked after all
(no unicorn free, a second active ride, any error), or the other service may have recorded
an award the ride did not get (it answered too late or wrongly), the caller calls
`release()` and the other service gives the award's money back to its campaign and stops
counting it against the rider's daily cap (`POST /api/promos/discounts/release/`, by ride
id, so it also covers an award recorded after the release arrived).
"""

import json
import logging
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import DatabaseError, transaction

from promos.models import CAMPAIGN_MAX_LENGTH, LABEL_MAX_LENGTH, ONE

logger = logging.getLogger(__name__)

# What a ride records of a discount (rides.models.Ride): an answer with more is nonsense.
AWARD_ID_MAX = 2**63 - 1  # a BigIntegerField (its least value is one less than -AWARD_ID_MAX)


@dataclass(frozen=True)
class Discount:
    multiplier: Decimal = ONE
    award_id: int | None = None
    campaign: str | None = None
    label: str | None = None


NO_DISCOUNT = Discount()


class PromoServiceError(Exception):
    def __init__(self, message: str, *, nothing_recorded: bool = False):
        super().__init__(message)
        # True when the request never reached the other service (connection refused).
        self.nothing_recorded = nothing_recorded


class PromoServiceUnreachable(PromoServiceError):
    def __init__(self, message: str):
        super().__init__(message, nothing_recorded=True)


class DiscountOffer:
    """A discount worked out before the ride's transaction, confirmed inside it.

    In-process, the draw is planned first (reads only) and `confirm()` takes the money
    from the campaign's budget and records the award in the ride's own transaction (taking
    the money in a savepoint: a failure there books the ride at 1.00 and the ride goes on;
    an award of 1.00 is one INSERT, with nothing to isolate). Over HTTP the other service
    has already recorded it, and `confirm()` just returns it.
    """

    def __init__(self, *, ride_id, discount: Discount = NO_DISCOUNT, planned=None, uncertain=False):
        self.ride_id, self.discount, self.planned = ride_id, discount, planned
        # Over HTTP: the other service may hold an award the ride does not have.
        self.uncertain = uncertain

    @property
    def remote(self) -> bool:
        return self.planned is None and (self.uncertain or self.discount.award_id is not None)

    def release(self) -> None:
        """The ride was not booked: give back what the other service recorded for it.
        In-process the award was in the ride's transaction and went with it; nothing to do.
        Never raises; a failure is logged with the ride id."""
        if not self.remote or not settings.PROMO_SERVICE_URL:
            return
        try:
            released = _release_over_http(self.ride_id)
        except PromoServiceError as error:
            logger.warning("Could not release the promo award of ride %s: %s", self.ride_id, error)
            return
        logger.info("Released %s promo award(s) of unbooked ride %s", released, self.ride_id)

    def settle_booked(self) -> None:
        """The ride is booked: if it was booked without the other service's answer (too
        late, or nonsense) while that service may have recorded an award, release it."""
        if self.uncertain:
            self.release()

    def confirm(self) -> Discount:
        if self.planned is None:
            return self.discount
        from promos.services import record_discount

        if not self.planned.discount_minor:  # nothing to take from a budget: one INSERT
            return _as_discount(record_discount(self.planned))
        try:
            # A savepoint: taking the money waits for budget slices (a deadlock, a lock
            # timeout); a failure there leaves the ride intact, booked at 1.00.
            with transaction.atomic():
                award = record_discount(self.planned)
        except DatabaseError as error:
            logger.warning(
                "Promo service failed for ride %s, booked at 1.00: in-process draw failed: %s",
                self.ride_id,
                error,
            )
            return NO_DISCOUNT
        return _as_discount(award)


def _as_discount(award) -> Discount:
    return Discount(
        multiplier=award.multiplier,
        award_id=award.pk,
        campaign=award.campaign.name if award.campaign else None,
        label=award.label,
    )


def offer_discount_for_ride(
    *, ride_id: uuid.UUID, username: str, latitude: float, longitude: float, fare_minor: int
) -> DiscountOffer:
    """Ask for the ride's discount; call `confirm()` on the answer inside the ride's
    transaction. Never raises: whatever goes wrong, the offer is 1.00."""
    request = {
        "ride_id": ride_id,
        "username": username,
        "latitude": latitude,
        "longitude": longitude,
        "fare_minor": fare_minor,
    }
    try:
        if settings.PROMO_SERVICE_URL:
            return DiscountOffer(ride_id=ride_id, discount=_draw_over_http(**request))
        return DiscountOffer(ride_id=ride_id, planned=_plan_in_process(**request))
    except PromoServiceError as error:
        logger.warning("Promo service failed for ride %s, booked at 1.00: %s", ride_id, error)
        return DiscountOffer(ride_id=ride_id, uncertain=not error.nothing_recorded)


def _plan_in_process(**request):
    from promos.services import plan_discount

    try:
        return plan_discount(**request)
    except DatabaseError as error:
        raise PromoServiceError(f"in-process draw failed: {error}") from error


def _post(path: str, payload: dict) -> urllib.request.Request:
    """A JSON POST to the promo service, signed with its service key."""
    return urllib.request.Request(  # noqa: S310 (URL comes from settings, http/https only)
        settings.PROMO_SERVICE_URL.rstrip("/") + path,
        data=json.dumps(payload).encode(),
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Api-Key {settings.PROMO_SERVICE_KEY}",
        },
    )


def _draw_over_http(*, ride_id, username, latitude, longitude, fare_minor) -> Discount:
    request = _post(
        "/api/promos/discounts/",
        {
            "username": username,
            "latitude": latitude,
            "longitude": longitude,
            "ride_id": str(ride_id),
            "fare": {
                "amount": f"{Decimal(fare_minor) / 100:.2f}",
                "currency": settings.FARE_CURRENCY,
            },
        },
    )
    for attempt in (1, 2):
        try:
            timeout = settings.PROMO_SERVICE_TIMEOUT
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                return _parse(response.status, response.read(64 * 1024))
        except urllib.error.HTTPError as error:
            raise PromoServiceError(f"answered HTTP {error.code}") from error
        except urllib.error.URLError as error:
            if isinstance(error.reason, ConnectionError) and attempt == 1:
                continue  # refused or reset: one more try
            if isinstance(error.reason, ConnectionRefusedError):
                raise PromoServiceUnreachable(f"unreachable: {error.reason}") from error
            raise PromoServiceError(f"unreachable: {error.reason}") from error
        except (TimeoutError, ConnectionError, OSError) as error:
            if isinstance(error, ConnectionError) and attempt == 1:
                continue
            raise PromoServiceError(f"no answer in time: {error}") from error
    raise PromoServiceError("unreachable")  # pragma: no cover (loop always returns or raises)


def _release_over_http(ride_id) -> int:
    request = _post("/api/promos/discounts/release/", {"ride_id": str(ride_id)})
    # The other service honours a release that arrives before the award, so it only has to
    # arrive; the rider waits for it at most PROMO_SERVICE_TIMEOUT, as for the draw.
    try:
        timeout = settings.PROMO_SERVICE_TIMEOUT
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            raw = response.read(4096)
    except urllib.error.HTTPError as error:
        raise PromoServiceError(f"answered HTTP {error.code}") from error
    except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as error:
        raise PromoServiceError(f"no answer: {error}") from error
    try:
        return int(json.loads(raw).get("released", 0))
    except (ValueError, TypeError, AttributeError):
        return 0


def _is_award_id(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) <= AWARD_ID_MAX


def _is_text(value, max_length: int) -> bool:
    return isinstance(value, str) and len(value) <= max_length


def _parse(status: int, raw: bytes) -> Discount:
    if status != 201:
        raise PromoServiceError(f"answered HTTP {status}")
    try:
        data = json.loads(raw)
        multiplier = Decimal(str(data["discount_multiplier"]))
        award_id = data.get("id")
        campaign = data.get("campaign")
        label = data.get("label")
    except (ValueError, TypeError, KeyError, InvalidOperation) as error:
        raise PromoServiceError(f"answered nonsense: {raw[:200]!r}") from error
    well_formed = (
        multiplier.is_finite()
        and Decimal("0.01") <= multiplier <= ONE
        and multiplier == multiplier.quantize(Decimal("0.01"))
        and (award_id is None or _is_award_id(award_id))
        and (campaign is None or _is_text(campaign, CAMPAIGN_MAX_LENGTH))
        and (label is None or _is_text(label, LABEL_MAX_LENGTH))
    )
    if not well_formed:
        raise PromoServiceError(f"answered nonsense: {raw[:200]!r}")
    return Discount(multiplier.quantize(Decimal("0.01")), award_id, campaign, label)
