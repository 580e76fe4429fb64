"""Faults, each proven by an automated test. Where an existing test already proves one, it
is named here instead of repeated:

- promo service down, slow or talking nonsense: tests/promos/test_promo_client.py (the
  client), test_promo_outage_api.py (end to end through the API).
- the database unavailable: test_database_outage.py (queries failing in-process, on both
  databases), test_live_postgres_outage.py (a live PostgreSQL under gunicorn stopped and
  restarted mid-run).
- SNS/SQS unavailable: tests/events/test_aws_fanout.py
  (test_relay_publishes_what_sns_refused_once_it_is_back,
  test_sns_cannot_hold_the_request_for_long,
  test_batch_replaces_a_database_connection_the_server_dropped).
- a subscriber crashing: tests/events/test_local_delivery.py
  (test_failing_subscriber_is_retried_with_backoff_then_dead_lettered) and
  tests/events/test_aws_fanout.py
  (test_poison_message_ends_in_the_dlq_and_as_a_replayable_dead_letter).
- a payment-list import failing half-way in-process:
  tests/payments/test_payment_list_workflow.py; killed with SIGKILL in a separate process:
  test_killed_import.py.
"""
