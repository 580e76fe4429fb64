"""What a person is told when a request limit refuses them."""


def assert_refused_with_a_sentence(response) -> None:
    """429, a wait of at most the limit's minute, and the sentence that says it."""
    assert response.status_code == 429
    wait = int(response["Retry-After"])
    assert 0 < wait <= 60
    unit = "second" if wait == 1 else "seconds"
    assert response.json() == {
        "detail": f"Too many tries in a short time. Try again in {wait} {unit}."
    }
