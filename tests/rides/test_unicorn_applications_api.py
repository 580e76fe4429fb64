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
