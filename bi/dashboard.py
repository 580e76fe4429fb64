"""The operations dashboard inside the admin: charts over a date range, live counts, map.

Wired into the admin by bi/admin.py (admin:bi_dashboard, staff with the dashboard
permission: the Operators). The charts are server-rendered SVG (bi/charts.py) from the BI
aggregates; fleet utilisation, the map and the live counts read the fleet as it is now.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from django import forms
from django.conf import settings
from django.http import JsonResponse
from django.template.response import TemplateResponse
from django.urls import reverse

from bi import charts, selectors
from core.money import Money

MAX_DAYS = 366
EARLIEST_DAY = date(2000, 1, 1)  # no business data before; bounds the date arithmetic
QUICK_RANGES = (7, 14, 30, 90)


class RangeForm(forms.Form):
    """GET ?from=YYYY-MM-DD&to=YYYY-MM-DD; either may be left out."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # "from" is a Python keyword, so these fields cannot be class attributes.
        self.fields["from"] = forms.DateField(label="From", required=False)
        self.fields["to"] = forms.DateField(label="To", required=False)

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("from"), cleaned.get("to")
        earliest, latest = bounds()
        for day in (start, end):
            if day and not earliest <= day <= latest:
                raise forms.ValidationError(
                    f"Choose dates between {earliest.isoformat()} and {latest.isoformat()}."
                )
        if start and end and start > end:
            raise forms.ValidationError("The start date must be on or before the end date.")
        if start and end and (end - start).days + 1 > MAX_DAYS:
            raise forms.ValidationError(f"Choose a range of at most {MAX_DAYS} days.")
        return cleaned


def bounds(today: date | None = None) -> tuple[date, date]:
    """The dates a range may use: from EARLIEST_DAY to a year ahead."""
    today = today or selectors.default_range()[1]
    return EARLIEST_DAY, today + timedelta(days=MAX_DAYS)


def chosen_range(params, today: date | None = None) -> tuple[date, date, RangeForm]:
    """The range asked for; the default (last 14 days) for what is missing or wrong.

    Bounded in both directions whatever is given: dates between bounds(), and a missing
    end never stretches the range past MAX_DAYS."""
    default_start, default_end = selectors.default_range(today)
    form = RangeForm(params)
    if not form.is_valid():
        return default_start, default_end, form
    end = form.cleaned_data.get("to") or default_end
    start = form.cleaned_data.get("from") or end - (default_end - default_start)
    if not form.cleaned_data.get("to"):
        end = min(end, start + timedelta(days=MAX_DAYS - 1))
    if start > end:  # only "from" was given, after today
        end = start
    return start, end, form


def _short(day: date) -> str:
    return f"{day.day} {day:%b}"


def _long(day: date) -> str:
    return f"{day:%a} {day.day} {day:%b %Y}"


def money(currency: str):
    return lambda minor: str(Money(int(minor), currency))


def money_axis(currency: str):
    symbol = {"USD": "$", "EUR": "€", "GBP": "£"}.get(currency, "")

    def axis(minor: float) -> str:
        amount = minor / 100
        if amount >= 1000:
            text = f"{amount / 1000:,.1f}".removesuffix(".0") + "k"
        else:
            text = f"{amount:,.2f}".removesuffix(".00")
        return f"{symbol}{text}" if symbol else f"{text} {currency}"

    return axis


@dataclass(frozen=True)
class Link:
    label: str
    value: int
    url: str | None
    key: str
    note: str


def live_cards(user, counts: dict) -> list[Link]:
    def url(perm: str, name: str, query: str = "") -> str | None:
        return reverse(name) + query if user.has_perm(perm) else None

    return [
        Link(
            "Rides in progress",
            counts["rides_in_progress"],
            url("rides.view_ride", "admin:rides_ride_changelist", "?active=yes"),
            "rides_in_progress",
            "unicorns on their way or riding",
        ),
        Link(
            "Unicorns free",
            counts["unicorns_free"],
            url(
                "rides.view_unicorn",
                "admin:rides_unicorn_changelist",
                "?on_duty__exact=1&is_available__exact=1",
            ),
            "unicorns_free",
            "on duty and waiting for a rider",
        ),
        Link(
            "Lists importing",
            counts["lists_importing"],
            url(
                "payment_lists.view_paymentlist",
                "admin:payment_lists_paymentlist_changelist",
                "?status__in=received,validating,verifying,importing",
            ),
            "lists_importing",
            "payment lists not finished yet",
        ),
        Link(
            "Dead letters waiting",
            counts["dead_letters"],
            url("events.view_deadletter", "admin:events_deadletter_changelist"),
            "dead_letters",
            "events to inspect and replay",
        ),
    ]


def _money_text(amounts: dict[str, int]) -> str:
    """Amounts in several currencies, each apart: "$150.00 and €20.00"."""
    return " and ".join(money(currency)(minor) for currency, minor in amounts.items())


def _chart_id(base: str, currency: str) -> str:
    """The fare currency's chart keeps the plain id; another currency's gets a suffix."""
    return base if currency == settings.FARE_CURRENCY else f"{base}-{currency.lower()}"


def _revenue_chart(figures, currency, *, several: bool, period, short, full) -> dict:
    cash, values = money(currency), [d.minor(currency, "revenue_minor") for d in figures]
    title = "Revenue per day" + (f" in {currency}" if several else "")
    busiest = _busiest(figures, values, cash)
    return {
        "title": title,
        "chart": charts.line_chart(
            chart_id=_chart_id("chart-revenue", currency),
            title=title,
            desc=f"Fares of completed rides per day in {currency}, {period}: "
            f"{cash(sum(values))} in all{busiest}.",
            categories=short,
            mark_labels=full,
            values=values,
            fmt=cash,
            axis=money_axis(currency),
            empty="No revenue in this period.",
        ),
    }


def _campaigns_chart(spend, currency, *, several: bool, period) -> dict:
    cash = money(currency)
    items = [(row["campaign"], row["discounts_minor"]) for row in spend]
    listed = "; ".join(f"{name}: {cash(value)}" for name, value in items[:10])
    more = f"; and {len(items) - 10} more" if len(items) > 10 else ""
    title = "Discount spend per campaign" + (f" in {currency}" if several else "")
    return {
        "title": title,
        "note": f"{cash(sum(value for _, value in items))} in {len(items)} "
        f"campaign{'s' if len(items) != 1 else ''}"
        if items
        else "",
        "chart": charts.bar_chart(
            chart_id=_chart_id("chart-campaigns", currency),
            title=title,
            desc=f"Discount money given per campaign in {currency}, {period}"
            + (f": {listed}{more}." if items else ": none."),
            items=items[:12],
            fmt=cash,
            empty="No discounts given in this period.",
        ),
    }


def _busiest(figures, values, fmt) -> str:
    """The ", most on <day> (<value>)" of the day with the most, or "" when none has any."""
    if not values or max(values) <= 0:
        return ""
    best = max(range(len(values)), key=lambda i: values[i])
    return f", most on {_long(figures[best].day)} ({fmt(values[best])})"


def build_charts(start: date, end: date, fleet: selectors.Fleet) -> dict:
    figures = selectors.daily_figures(start, end)
    total = selectors.totals(figures)
    spend = selectors.campaign_spend(start, end)
    # Every currency apart, the fare currency first; money is never added across them.
    currencies = selectors.currencies(
        figures, settings.FARE_CURRENCY, *(row["currency"] for row in spend)
    )
    several = len(currencies) > 1
    days = len(figures)
    period = f"{_long(start)} to {_long(end)} ({days} day{'s' if days != 1 else ''})"
    short = [_short(day.day) for day in figures]
    full = [_long(day.day) for day in figures]

    completed = [d.rides_completed for d in figures]
    rides = charts.column_chart(
        chart_id="chart-rides",
        title="Rides completed per day",
        desc=f"Rides completed per day, {period}: {total['rides_completed']:,} in all"
        + _busiest(figures, completed, charts.plain)
        + ".",
        categories=short,
        mark_labels=full,
        series=[charts.Series("rides", "s1", completed)],
        empty="No rides completed in this period.",
    )
    revenue_charts = [
        _revenue_chart(figures, c, several=several, period=period, short=short, full=full)
        for c in currencies
        if c == settings.FARE_CURRENCY or total["money"].get(c, {}).get("revenue_minor")
    ]
    payment_series = [
        charts.Series("registered", "p-registered", [d.payments_registered for d in figures]),
        charts.Series("verified", "p-verified", [d.payments_verified for d in figures]),
        charts.Series("deleted", "p-deleted", [d.payments_deleted for d in figures]),
    ]
    def paid(name: str) -> dict[str, int]:
        """The currencies with money of `name` in the period: {currency: minor units}."""
        return {c: v for c in currencies if (v := total["money"].get(c, {}).get(name, 0))}

    registered_money = paid("payments_registered_minor")
    payments = charts.column_chart(
        chart_id="chart-payments",
        title="Payments by status per day",
        desc=f"Payments registered, verified and deleted per day, {period}: "
        f"{total['payments_registered']:,} registered, {total['payments_verified']:,} verified, "
        f"{total['payments_deleted']:,} deleted"
        + (f"; registered: {_money_text(registered_money)}" if registered_money else "")
        + ".",
        categories=short,
        mark_labels=full,
        series=payment_series,
        empty="No payments in this period.",
    )
    spend_in = {c: [row for row in spend if row["currency"] == c] for c in currencies}
    campaigns_charts = [
        _campaigns_chart(spend_in[c], c, several=several, period=period)
        for c in currencies
        if c == settings.FARE_CURRENCY or spend_in[c]
    ]
    share = fleet.utilisation
    fleet_chart = charts.donut_chart(
        chart_id="chart-fleet",
        title="Fleet utilisation now",
        desc=f"The fleet now: {fleet.total:,} unicorns; {fleet.on_ride:,} on a ride, "
        f"{fleet.free:,} free, {fleet.off_duty:,} off duty. "
        + (
            f"{share:.0%} of the unicorns on duty are on a ride."
            if share is not None
            else "No unicorn is on duty."
        ),
        parts=[
            ("On a ride", fleet.on_ride, "f-on-ride"),
            ("Free", fleet.free, "f-free"),
            ("Off duty", fleet.off_duty, "f-off-duty"),
        ],
        centre=f"{share:.0%}" if share is not None else "none",
        centre_note="busy" if share is not None else "on duty",
    )

    def amounts(name: str) -> str:
        return _money_text(
            {c: total["money"].get(c, {}).get(name, 0) for c in currencies}
            if not several
            else {c: v for c in currencies if (v := total["money"].get(c, {}).get(name, 0))}
        ) or money(settings.FARE_CURRENCY)(0)

    return {
        "figures": figures,
        "totals": total,
        "currencies": currencies,
        "totals_money": {
            "revenue": amounts("revenue_minor"),
            "discounts": amounts("discounts_minor"),
            "payments_registered": _money_text(registered_money),
            "payments_verified": _money_text(paid("payments_verified_minor")),
        },
        "figure_rows": [
            {
                "day": day,
                "money": [
                    day.minor(c, name)
                    for c in currencies
                    for name in ("revenue_minor", "discounts_minor")
                ],
            }
            for day in figures
        ],
        "spend": [
            {**row, "money": money(row["currency"])(row["discounts_minor"])} for row in spend
        ],
        "period": period,
        "time_zone": settings.TIME_ZONE,
        "rides_chart": rides,
        "revenue_charts": revenue_charts,
        "payments_chart": payments,
        "payments_legend": charts.legend(payment_series),
        "campaigns_charts": campaigns_charts,
        "fleet_chart": fleet_chart,
    }


def dashboard_view(request, model_admin):
    start, end, form = chosen_range(request.GET)
    fleet = selectors.fleet()
    counts = selectors.live_counts(fleet)
    show_map = request.user.has_perm("rides.view_unicorn") and request.user.has_perm(
        "rides.view_ride"
    )
    today = selectors.default_range()[1]
    context = {
        **model_admin.admin_site.each_context(request),
        "title": "Operations dashboard",
        "opts": model_admin.model._meta,
        "start": start,
        "end": end,
        "form": form,
        "quick_ranges": [
            {"days": n, "from": today - timedelta(days=n - 1), "to": today} for n in QUICK_RANGES
        ],
        "cards": live_cards(request.user, counts),
        "fleet": fleet,
        "show_map": show_map,
        "map_points": selectors.fleet_map() if show_map else None,
        "map_limit": selectors.MAP_UNICORN_LIMIT,
        "map": {
            "tiles_url": settings.MAP_TILES_URL,
            "attribution": "© OpenStreetMap contributors",
            "center": settings.CITY_CENTER,
        },
        **build_charts(start, end, fleet),
    }
    # A range that was refused: the page (default range, the form's sentence) as a 400.
    status = 400 if form.is_bound and form.errors else 200
    return TemplateResponse(request, "admin/bi/dashboard.html", context, status=status)


def live_counts_view(request):
    """The live counts as JSON; the dashboard refreshes its cards from it."""
    return JsonResponse(selectors.live_counts())
