"""The API schema tells clients which operations take an Idempotency-Key."""

import pytest


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/api/rides/", "post"),
        ("/api/payments/", "post"),
        ("/api/payments/{payment_id}/", "delete"),
        ("/api/payments/{payment_id}/verify/", "post"),
    ],
)
def test_operations_that_replay_document_the_header(api, db, path, method):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    parameters = schema["paths"][path][method].get("parameters", [])
    assert {"in": "header", "name": "Idempotency-Key"}.items() <= next(
        (p for p in parameters if p["name"] == "Idempotency-Key"), {}
    ).items()
