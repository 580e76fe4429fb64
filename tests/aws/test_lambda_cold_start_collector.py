"""The function's handler (wildrydes.aws_lambda) sets Django up once per process with the
garbage collector off: a cold start's modules, classes and functions live as long as the
process. Then it freezes them and turns the collector back on, so the requests that follow
are collected as usual and never walk what set-up made."""

import gc
import sys
import types

from wildrydes import aws_lambda


def test_set_up_runs_without_the_collector_and_the_requests_with_it(monkeypatch):
    seen = []

    class LambdaHandler:  # Zappa's singleton: its first construction sets Django up
        ready = False

        def __init__(self):
            if not LambdaHandler.ready:
                LambdaHandler.ready = True
                seen.append(("set-up", gc.isenabled()))

        @staticmethod
        def lambda_handler(event, context):
            seen.append(("request", gc.isenabled()))
            return {"statusCode": 200}

    zappa = types.ModuleType("handler")
    zappa.LambdaHandler, zappa.lambda_handler = LambdaHandler, LambdaHandler.lambda_handler
    monkeypatch.setitem(sys.modules, "handler", zappa)
    event = {"httpMethod": "GET", "path": "/api/health/", "headers": {"Host": "example.com"}}
    aws_lambda._zappa.cache_clear()
    frozen = gc.get_freeze_count()
    try:
        assert aws_lambda.lambda_handler(dict(event), None) == {"statusCode": 200}
        frozen_by_set_up = gc.get_freeze_count() - frozen
        assert aws_lambda.lambda_handler(dict(event), None) == {"statusCode": 200}
    finally:
        aws_lambda._zappa.cache_clear()
        gc.unfreeze()  # this test process's objects: collected again
        gc.enable()

    # Set up once, collector off; both requests with it on.
    assert seen == [("set-up", False), ("request", True), ("request", True)]
    assert frozen_by_set_up > 0
