"""Turn on ReportBatchItemFailures for a stage's SQS event sources (Zappa cannot).

    python3 deploy/partial_batch_responses.py dev [--settings build/zappa_settings.dev.json]

(`make deploy` runs it after `zappa deploy|update`.)

events.aws.handle_sqs_event answers {"batchItemFailures": [...]}; Lambda reads that only when
the event source mapping has FunctionResponseTypes ["ReportBatchItemFailures"], otherwise it
takes the batch as all done and deletes the failed messages too. Zappa creates the mappings
(`events` in zappa_settings.json) without that option and never clears it on update. This
sets it on every SQS mapping of the stage's function, then checks; idempotent. Exit 1 if a
queue listed in zappa_settings.json has no mapping or the option could not be set.
"""

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "deploy"))
OPTION = "ReportBatchItemFailures"


def stage_settings(stage: str, settings_file: str | None) -> dict:
    """The stage's rendered Zappa settings (deploy/stage.py writes them), or, without a file,
    rendered from the names, the caller's account and region."""
    if settings_file:
        return json.loads(Path(settings_file).read_text())[stage]
    import boto3
    import stage as stages

    session = boto3.session.Session()
    account = session.client("sts").get_caller_identity()["Account"]
    return stages.render_settings(stage, account, session.region_name, outputs=None)[stage]


def main(argv: list[str]) -> int:
    import boto3  # the deployer's, not the package's

    parser = argparse.ArgumentParser()
    parser.add_argument("stage", nargs="?", default="dev")
    parser.add_argument("--settings", help="build/zappa_settings.STAGE.json")
    args = parser.parse_args(argv)
    stage = args.stage
    settings = stage_settings(stage, args.settings)
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
