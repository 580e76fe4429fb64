"""A ride request (POST /api/rides/ with an Idempotency-Key), or a payment registration
(POST /api/payments/), that stops where it is told and waits to be killed
(tests/core/test_idempotency_crash.py).

    held_ride_request.py <user id> <Idempotency-Key> [payment]

HOLD_AT=draw: the key is claimed, nothing booked yet (held at the ride's discount draw).
HOLD_AT=answer: the ride or payment is committed, its answer not stored yet (held while
the answer is written). MARKER names the file written once it is held there.
"""

import os
import sys
import time
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wildrydes.settings")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
django.setup()

from django.test.utils import setup_test_environment  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from accounts.models import User  # noqa: E402
from payments.serializers import PaymentSerializer  # noqa: E402
from promos import client as promo_client  # noqa: E402
from rides.serializers import RideSerializer  # noqa: E402

PICKUP = {"pickup": {"latitude": 47.6062, "longitude": -122.3321}}
PAYMENT = {"amount": "12.50", "currency": "USD", "reference": "INV-KILLED"}
payment = sys.argv[3:] == ["payment"]


def hold():
    Path(os.environ["MARKER"]).write_text("held")
    time.sleep(120)


def held(real):
    def wrapper(*args, **kwargs):
        hold()
        return real(*args, **kwargs)

    return wrapper


if os.environ["HOLD_AT"] == "draw":
    promo_client.offer_discount_for_ride = held(promo_client.offer_discount_for_ride)
elif payment:
    PaymentSerializer.to_representation = held(PaymentSerializer.to_representation)
else:
    RideSerializer.to_representation = held(RideSerializer.to_representation)

setup_test_environment()  # the test client's host
client = APIClient()
client.force_authenticate(User.objects.get(pk=int(sys.argv[1])))
path, body = ("/api/payments/", PAYMENT) if payment else ("/api/rides/", PICKUP)
client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=sys.argv[2])
sys.exit("not held: the request finished")
