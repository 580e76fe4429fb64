from decimal import Decimal

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models, transaction

from core.validators import validate_one_line

ONE = Decimal("1.00")
# The longest campaign name, and discount label ("<name>: 25% off"), the promo service gives;
# a ride records them (rides.models.Ride), and its client refuses an answer with longer.
CAMPAIGN_MAX_LENGTH = 80
LABEL_MAX_LENGTH = 120
BUDGET_SLICES = 16


def normalised_currency(code: str | None) -> str:
    """A currency code as fares and payments carry it: " eur" -> "EUR"."""
    return (code or "").strip().upper()


class Campaign(models.Model):
    """A discount campaign: who may win what, where, when, and how much it may cost."""

    name = models.CharField(
        max_length=CAMPAIGN_MAX_LENGTH, unique=True, validators=[validate_one_line]
    )
    is_active = models.BooleanField(default=True, help_text="Switch the campaign on or off.")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(null=True, blank=True, help_text="Empty: no end.")
    priority = models.IntegerField(default=0, help_text="Where campaigns overlap, higher wins.")
    center_latitude = models.FloatField(
        null=True, blank=True, validators=[MinValueValidator(-90), MaxValueValidator(90)]
    )
    center_longitude = models.FloatField(
        null=True, blank=True, validators=[MinValueValidator(-180), MaxValueValidator(180)]
    )
    radius_km = models.FloatField(
        null=True, blank=True, validators=[MinValueValidator(0.1)], help_text="Empty: anywhere."
    )
    daily_cap_per_rider = models.PositiveIntegerField(
        null=True, blank=True, help_text="Discounts one rider may win per day. Empty: no cap."
    )
    budget_minor = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="Total discount money, in cents. Empty: no limit."
    )
    currency = models.CharField(
        max_length=3,
        default="USD",
        help_text="The budget's currency (a code, e.g. USD): only fares charged in it are "
        "discounted from this campaign.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-priority", "-starts_at"]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        """A new campaign gets its budget slices at once, so its first draws need not
        create them (and wait for each other doing so). A changed budget re-spreads what
        was spent (BudgetSlice.fit_to_budget), so a lowered one is not overspent."""
        self.currency = normalised_currency(self.currency)
        if self._state.adding:
            super().save(*args, **kwargs)
            BudgetSlice.make_missing(self.pk)
            return
        with transaction.atomic():
            slices = BudgetSlice.lock_all(self.pk)  # before the budget changes under draws
            super().save(*args, **kwargs)
            BudgetSlice.fit_to_budget(slices, self.budget_minor)

    @property
    def has_geofence(self) -> bool:
        return self.radius_km is not None

    def clean(self):
        errors = {}
        typed = self.currency
        self.currency = normalised_currency(typed)
        if self.currency not in settings.PAYMENT_CURRENCIES:  # the project's one list
            known = ", ".join(settings.PAYMENT_CURRENCIES)
            errors["currency"] = f"Unknown currency {typed!r}; use one of {known}."
        elif (awarded_in := self._awarded_in_another_currency()) is not None:
            errors["currency"] = (
                f"This campaign has awarded discounts in {awarded_in}: they and its spending "
                f"would read as {self.currency}. End it and start another campaign in "
                f"{self.currency}."
            )
        geofence = [self.center_latitude, self.center_longitude, self.radius_km]
        if any(v is not None for v in geofence) and None in geofence:
            errors.setdefault(NON_FIELD_ERRORS, []).append(
                "A geofence needs a centre latitude, longitude and a radius."
            )
        if self.ends_at and self.starts_at and self.ends_at <= self.starts_at:
            errors.setdefault(NON_FIELD_ERRORS, []).append("The campaign must end after it starts.")
        if errors:
            raise ValidationError(errors)


    def _awarded_in_another_currency(self) -> str | None:
        """The currency this campaign had when it awarded discounts, if the form changes it:
        awards and spent budget are amounts in it (the admin shows them in the campaign's)."""
        if self._state.adding:
            return None
        stored = Campaign.objects.filter(pk=self.pk).values_list("currency", flat=True).first()
        if stored is None or stored == self.currency or not self.awards.exists():
            return None
        return stored


class BudgetSlice(models.Model):
    """A share of a campaign's budget and what has been spent from it.

    A campaign's spending is spread over BUDGET_SLICES rows, so concurrent draws take money
    from different rows instead of all waiting for one (promos.services). Slice `number`
    may spend `allowance(budget, number)`, its share of the campaign's budget as it is now;
    the shares add up to the budget, so no slice within its share means the campaign
    within its budget. What a campaign has spent is the sum of its slices.
    """

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="budget_slices")
    number = models.PositiveSmallIntegerField()
    spent_minor = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["campaign", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "number"], name="one_budget_slice_per_number"
            )
        ]

    def __str__(self):
        return f"{self.campaign_id} slice {self.number}"

    @staticmethod
    def allowance(budget_minor: int, number: int) -> int:
        """Slice `number`'s share of `budget_minor`: an equal part, one more for the first
        budget % BUDGET_SLICES slices."""
        share, remainder = divmod(budget_minor, BUDGET_SLICES)
        return share + (1 if number < remainder else 0)

    @classmethod
    def make_missing(cls, campaign_id: int) -> None:
        """Make the campaign's slices that do not exist yet."""
        cls.objects.bulk_create(
            [cls(campaign_id=campaign_id, number=n) for n in range(BUDGET_SLICES)],
            ignore_conflicts=True,
        )

    @classmethod
    def lock_all(cls, campaign_id: int) -> list["BudgetSlice"]:
        """All the campaign's slices (made if missing), locked in number order."""
        cls.make_missing(campaign_id)
        locked = cls.objects.select_for_update().filter(campaign_id=campaign_id)
        return list(locked.order_by("number"))  # not Meta.ordering: that joins the campaign

    @classmethod
    def fit_to_budget(cls, slices: list["BudgetSlice"], budget_minor: int | None) -> None:
        """Re-spread what the (locked) slices spent so each is within its share of the
        budget as it is now; what a lowered budget no longer covers stays on one slice,
        and every other is then full. Draws check each slice against its own share, so
        without this a lowered budget left the other slices' shares spendable (overspent).
        Releases give back to that slice first (promos.services), so the rule holds."""
        if budget_minor is None or all(
            piece.spent_minor <= cls.allowance(budget_minor, piece.number) for piece in slices
        ):
            return
        left = sum(piece.spent_minor for piece in slices)
        for piece in slices:
            piece.spent_minor = min(left, cls.allowance(budget_minor, piece.number))
            left -= piece.spent_minor
        slices[0].spent_minor += left  # what the budget no longer covers
        cls.objects.bulk_update(slices, ["spent_minor"])


class DiscountTier(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="tiers")
    multiplier = models.DecimalField(
        max_digits=3,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(ONE)],
        help_text="0.75 means 25% off.",
    )
    weight = models.PositiveIntegerField(validators=[MinValueValidator(1)])

    class Meta:
        ordering = ["-multiplier"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "multiplier"], name="one_tier_per_multiplier"
            )
        ]

    def __str__(self):
        return f"{self.multiplier} (weight {self.weight})"


class DiscountAward(models.Model):
    """One draw: what a rider won at a place and time, and for which ride."""

    class Outcome(models.TextChoices):
        DRAWN = "drawn", "drawn"
        NO_CAMPAIGN = "no_campaign", "no campaign applies"
        DAILY_CAP = "daily_cap", "daily cap reached"
        BUDGET = "budget", "budget exhausted"
        RELEASED = "released", "ride not booked"

    username = models.CharField(max_length=254, db_index=True)
    latitude = models.FloatField()
    longitude = models.FloatField()
    campaign = models.ForeignKey(
        Campaign,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="awards",
        db_index=False,  # award_daily_cap_idx starts with it: one index less per draw
    )
    multiplier = models.DecimalField(max_digits=3, decimal_places=2)
    outcome = models.CharField(max_length=12, choices=Outcome.choices)
    fare_minor = models.PositiveIntegerField(null=True, blank=True, help_text="Before discount.")
    discount_minor = models.PositiveIntegerField(default=0, help_text="Money given away.")
    ride_id = models.UUIDField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    released_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="The ride was not booked: the money went back to the campaign and the "
        "award does not count against the rider's daily cap.",
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["campaign", "username", "created_at"], name="award_daily_cap_idx")
        ]

    def __str__(self):
        return f"{self.multiplier} for {self.username}"

    @property
    def percent_off(self) -> int:
        return int((ONE - self.multiplier) * 100)

    @property
    def label(self) -> str | None:
        """What the rider reads: "Unicorn Tuesday: 25% off"."""
        if self.campaign is None or self.multiplier >= ONE:
            return None
        return f"{self.campaign.name}: {self.percent_off}% off"


class ReleasedRide(models.Model):
    """A ride the caller did not book: its awards are released, including one that a slow
    draw records after the release arrived."""

    ride_id = models.UUIDField(unique=True)
    released_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return str(self.ride_id)
