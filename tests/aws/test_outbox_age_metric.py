"""The relay reports how old the oldest undelivered event is: the metric the stage's
outbox-age alarm watches (WildRydes OutboxOldestAgeSeconds, dimension Stage)."""

import json
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from events import aws as events_aws
from events.models import OutboxEvent


def emitted(output: str) -> list[float]:
    lines = [json.loads(line) for line in output.splitlines() if line.startswith('{"_aws"')]
    return [line["OutboxOldestAgeSeconds"] for line in lines if "OutboxOldestAgeSeconds" in line]


@pytest.mark.django_db
def test_the_age_of_the_oldest_undelivered_event_is_reported(settings, capsys):
    settings.METRICS_EMF = True
    now = timezone.now()
    for minutes, published in ((30, now), (12, None), (1, None)):
        OutboxEvent.objects.create(
            id=uuid.uuid4(),
            type="rides.RideRequested",
            occurred_at=now - timedelta(minutes=minutes),
            published_at=published,
            data={},
        )
    events_aws.report_outbox_age()
    [age] = emitted(capsys.readouterr().out)
    assert 12 * 60 <= age < 12 * 60 + 30  # the 12-minute one; the published one is not waiting

    OutboxEvent.objects.update(published_at=now)
    events_aws.report_outbox_age()
    assert emitted(capsys.readouterr().out) == [0.0]
