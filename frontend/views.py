"""The rider's pages. They render markup only: every action goes through the REST API.

Each page sets the CSRF cookie, which the page scripts send back as X-CSRFToken.
"""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.auth.password_validation import (
    get_default_password_validators,
    password_validators_help_texts,
)
from django.http import Http404
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_safe

from core.exceptions import NotFound
from frontend import selectors

SIGN_IN_URL = reverse_lazy("frontend:signin")

# The notifications API, by URL name. Where it is not installed the page shows its empty
# state without calling anything.
NOTIFICATIONS_API_NAME = "notification-list"
NOTIFICATION_READ_API_NAME = "notification-read"
NOTIFICATIONS_READ_ALL_API_NAME = "notification-read-all"
NEARBY_UNICORNS_API_NAME = "unicorn-nearby"


def page(view):
    """A GET-only page that sets the CSRF cookie for the scripts that call the API."""
    return require_safe(ensure_csrf_cookie(view))


def rider_page(view):
    """A page for a signed-in rider; anyone else is sent to sign in first."""
    return page(login_required(view, login_url=SIGN_IN_URL))


def _optional_url(name: str, *args) -> str:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


def _map_context() -> dict:
    """What the page scripts need to draw the map: tiles, the city, the service area."""
    area = getattr(settings, "SERVICE_AREA", None) or {}
    return {
        "map": {
            "tiles_url": settings.MAP_TILES_URL,
            "attribution": "© OpenStreetMap contributors",
            "center": settings.CITY_CENTER,
            "area": area,
        }
    }


def _password_min_length() -> int:
    lengths = [
        validator.min_length
        for validator in get_default_password_validators()
        if hasattr(validator, "min_length")
    ]
    return max(lengths, default=0)


def _safe_next(request, default: str) -> str:
    target = request.GET.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


@page
def home(request):
    return render(request, "frontend/home.html")


@page
def unicorns(request):
    return render(request, "frontend/unicorns.html", {"fleet": selectors.fleet()})


@page
def investors(request):
    return render(request, "frontend/investors.html")


@page
def faq(request):
    return render(request, "frontend/faq.html")


@page
def apply(request):
    return render(request, "frontend/apply.html")


@page
def register(request):
    return render(
        request,
        "frontend/register.html",
        {
            "password_rules": password_validators_help_texts(),
            "password_min_length": _password_min_length(),
        },
    )


@page
def verify(request):
    return render(
        request,
        "frontend/verify.html",
        {
            "email": request.GET.get("email", ""),
            "just_sent": "sent" in request.GET,
            "not_sent": "unsent" in request.GET,
        },
    )


@page
def sign_in(request):
    return render(
        request,
        "frontend/signin.html",
        {
            "email": request.GET.get("email", ""),
            "confirmed": "confirmed" in request.GET,
            "next_url": _safe_next(request, default=reverse("frontend:ride")),
        },
    )


@rider_page
def ride(request):
    fee = settings.RIDE_CANCELLATION_FEE
    context = {
        **_map_context(),
        "nearby_url": _optional_url(NEARBY_UNICORNS_API_NAME),
        # Said before a rider cancels after the arrival (the API charges it).
        "cancellation_fee": {"amount": f"{fee:.2f}", "currency": settings.FARE_CURRENCY},
    }
    return render(request, "frontend/ride.html", context)


@rider_page
def history(request):
    return render(request, "frontend/history.html")


@rider_page
def receipt(request, ride_id):
    """One ride's receipt: route, distance, fare breakdown, discount, payment."""
    try:
        context = {"receipt": selectors.receipt_for(user=request.user, ride_id=ride_id)}
    except NotFound:
        raise Http404("No such ride.") from None
    return render(request, "frontend/receipt.html", {**context, **_map_context()})


@rider_page
def notifications(request):
    return render(
        request,
        "frontend/notifications.html",
        {
            "notifications_api_url": _optional_url(NOTIFICATIONS_API_NAME),
            # The page swaps the 0 for a notification's id.
            "notification_read_url": _optional_url(NOTIFICATION_READ_API_NAME, 0),
            "notifications_read_all_url": _optional_url(NOTIFICATIONS_READ_ALL_API_NAME),
        },
    )
