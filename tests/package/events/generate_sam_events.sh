#!/usr/bin/env bash
# Regenerate sam/*.json with AWS SAM CLI's own generator (README.md: what each is for).
#   python3 -m venv /tmp/sam && /tmp/sam/bin/pip install aws-sam-cli==1.170.0
#   SAM=/tmp/sam/bin/sam tests/package/events/generate_sam_events.sh
# Only the CLI's own options are used to adapt an event: the stage, method, path and body of
# a request; the names of this stage's queue, bucket and scheduled rule.
set -euo pipefail
cd "$(dirname "$0")/sam"
export SAM_CLI_TELEMETRY=0
SAM="${SAM:-sam}"
gen() { local out=$1; shift; "$SAM" local generate-event "$@" >"$out.json"; }

# API Gateway REST API, Lambda proxy integration (what Zappa deploys), stage dev.
gen apigateway-aws-proxy-health apigateway aws-proxy --stage dev --method GET --path api/health/ --body ''
gen apigateway-aws-proxy-api-404 apigateway aws-proxy --stage dev --method GET --path api/no-such-thing/ --body ''
gen apigateway-aws-proxy-home apigateway aws-proxy --stage dev --method GET --path '' --body ''
# API Gateway HTTP API (payload 2.0): the $default stage, and a named stage (in the path).
gen apigateway-http-api-health apigateway http-api-proxy --method GET --path api/health/ --body ''
gen apigateway-http-api-dev-stage-404 apigateway http-api-proxy --stage dev --method GET --path dev/api/no-such-thing/ --body ''
gen apigateway-http-api-token-400 apigateway http-api-proxy --method POST --path api/auth/token/ --body '{"email": "nobody@example.com"}'
# Application Load Balancer, Lambda target.
gen alb-health alb request --method GET --path api/health/ --body ''
gen alb-api-404 alb request --method GET --path api/no-such-thing/ --body ''
# SQS: SAM's sample message ("Hello from SQS!") on this stage's bi queue.
gen sqs-hello-on-bi-queue sqs receive-message --queue-name wildrydes-dev-events-bi
# S3 put under the payment-list inbox of this stage's bucket (organization 1, the demo one).
gen s3-put-inbox s3 put --bucket wildrydes-dev-files-123456789012 --key 'inbox/1/sam sample.csv'
# The scheduled rule Zappa names <function name>-<module.function> for the outbox relay.
gen scheduled-relay cloudwatch scheduled-event --rule wildrydes-dev-events.aws.relay_on_schedule
# SAM's own scheduled event (rule ExampleRule): a schedule of no function of this stage.
gen scheduled-example-rule cloudwatch scheduled-event
# SNS: SAM's sample notification (the function subscribes to no topic).
gen sns-notification sns notification
