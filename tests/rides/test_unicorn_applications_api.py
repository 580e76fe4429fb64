import pytest

from rides.models import UnicornApplication

pytestmark = pytest.mark.django_db

APPLICATION = {"name": "Nimbus", "color": "grey", "gender": "male", "email": "n@example.com"}


def test_anyone_can_apply(api):
    response = api.post("/api/unicorn-applications/", APPLICATION)
    assert response.status_code == 201
    assert response.json()["status"] == "pending"
    assert UnicornApplication.objects.get().name == "Nimbus"


@pytest.mark.parametrize(
    "change",
    [
        {"name": ""},
        {"name": "x" * 81},
        {"gender": "dragon"},
        {"email": "nope"},
        {"color": None},
        {"motivation": "m" * 2001},
    ],
)
def test_bad_application_is_400_and_not_saved(api, change):
    response = api.post("/api/unicorn-applications/", {**APPLICATION, **change})
    assert response.status_code == 400
    assert set(change) <= set(response.json())
    assert not UnicornApplication.objects.exists()


def test_applications_cannot_be_listed_through_the_api(api):
    assert api.get("/api/unicorn-applications/").status_code == 405


@pytest.mark.parametrize(
    "change",
    [
        # U+202E RIGHT-TO-LEFT OVERRIDE: accepted, every rider notification of the unicorn
        # showed the rest of its sentence backwards, the ride's reference too ("UQ3YXE-RW").
        {"color": "\u202eetihw"},
        {"name": "Nimbus\u202e"},
        {"name": "Nim\u2067bus"},  # RIGHT-TO-LEFT ISOLATE
        {"name": "Nim\u200fbus"},  # RIGHT-TO-LEFT MARK
        {"name": "Nim\nbus"},
        {"color": "grey\tand white"},
    ],
)
def test_a_name_or_colour_that_turns_riders_text_around_is_refused(api, change):
    """Names and colours reach every rider of the unicorn once an operator accepts it (the
    ride page, notifications, receipts): no control or text-direction characters."""
    response = api.post("/api/unicorn-applications/", {**APPLICATION, **change})
    assert response.status_code == 400
    [field] = change
    assert response.json() == {
        field: [
            "Use letters, digits, spaces and punctuation only: no line breaks, tabs or "
            "text-direction characters."
        ]
    }
    assert not UnicornApplication.objects.exists()


def test_names_in_any_script_are_welcome(api):
    response = api.post(
        "/api/unicorn-applications/", {**APPLICATION, "name": "ثلج", "color": "أبيض"}
    )
    assert response.status_code == 201
    assert UnicornApplication.objects.get().name == "ثلج"
