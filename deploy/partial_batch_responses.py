"""Turn on ReportBatchItemFailures for a stage's SQS event sources (Zappa cannot).

    python3 deploy/partial_batch_responses.py dev      # after `zappa deploy|update dev`

events.aws.handle_sqs_event answers {"batchItemFailures": [...]}; Lambda reads that only when
the event source mapping has FunctionResponseTypes ["ReportBatchItemFailures"], otherwise it
takes the batch as all done and deletes the failed messages too. Zappa creates the mappings
(`events` in zappa_settings.json) without that option and never clears it on update. This
sets it on every SQS mapping of the stage's function, then checks; idempotent. Exit 1 if a
queue listed in zappa_settings.json has no mapping or the option could not be set.
"""

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OPTION = "ReportBatchItemFailures"


def stage_settings(stage: str) -> dict:
    stages = json.loads((ROOT / "zappa_settings.json").read_text())
    settings = dict(stages[stage])
    parent = settings.pop("extends", None)
    return {**stage_settings(parent), **settings} if parent else settings


def main(argv: list[str]) -> int:
    import boto3  # the deployer's, not the package's

    stage = argv[0] if argv else "dev"
    settings = stage_settings(stage)
    function = f"{settings['project_name']}-{stage}"
    queues = [
        event["event_source"]["arn"]
        for event in settings.get("events", [])
        if event.get("event_source", {}).get("arn", "").startswith("arn:aws:sqs:")
    ]
    client = boto3.client("lambda", region_name=settings["aws_region"])
    missing = []
    for queue in queues:
        mappings = client.list_event_source_mappings(FunctionName=function, EventSourceArn=queue)
        if not mappings["EventSourceMappings"]:
            missing.append(queue)
            continue
        for mapping in mappings["EventSourceMappings"]:
            if OPTION not in mapping.get("FunctionResponseTypes", []):
                client.update_event_source_mapping(
                    UUID=mapping["UUID"], FunctionResponseTypes=[OPTION]
                )
            current = client.get_event_source_mapping(UUID=mapping["UUID"])
            ok = OPTION in current.get("FunctionResponseTypes", [])
            print(f"{queue} -> {function}: {OPTION} {'on' if ok else 'NOT SET'}")
            if not ok:
                missing.append(queue)
    if missing:
        print(f"No usable mapping for {missing}: run `zappa deploy|update {stage}` first.")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
