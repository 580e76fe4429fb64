// Run executions of state machines with aws-local-stepfunctions, as Step Functions would.
//
//   node run_execution.mjs      one request per line on stdin, one answer per line on stdout:
//   {"definition": "DEFINITION.json", "input": {...}, "tasks": "sdk" | "interpreter"}
//
// One execution at a time, in the order asked, all in this one process (node, the AWS SDK
// and aws-local-stepfunctions load once: ~1 s CPU a process); it ends with stdin.
// Each Task state invokes its Lambda function (the state's Resource) through Lambda's Invoke
// API with the AWS SDK for JavaScript, at the endpoint AWS_ENDPOINT_URL_LAMBDA names (the
// tests' loopback Invoke API, which runs the real package). The tasks go through
// `taskResourceLocalHandlers` for one reason: a function error must reach Retry and Catch
// as Step Functions reports it, Error = the errorType and Cause = the error payload's JSON
// ({"errorType", "errorMessage", "stackTrace"}); aws-local-stepfunctions 3.0.0's own Lambda
// call puts "<errorType>: <errorMessage>" in Cause instead. The other liberty: Retry
// intervals are 0 ms (retryIntervalOverrides), so a test does not sleep through the backoff;
// the attempts, errors and Catch are the definition's.
// Answers one JSON object per request: {status, output | error+cause, events: [the execution's
// event log]}, or {harness_error} when the execution could not be run at all.
import "./polyfill.mjs";

import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { StateMachine } from "aws-local-stepfunctions";

const lambda = new LambdaClient({});

class LambdaFunctionError extends Error {
  constructor(payload) {
    super(JSON.stringify(payload)); // Step Functions' Cause
    this.name = payload.errorType; // Step Functions' Error
  }
}

async function invoke(functionName, input) {
  const answer = await lambda.send(
    new InvokeCommand({ FunctionName: functionName, Payload: JSON.stringify(input) }),
  );
  const payload = answer.Payload ? JSON.parse(new TextDecoder().decode(answer.Payload)) : null;
  if (answer.FunctionError) throw new LambdaFunctionError(payload);
  return payload;
}

async function runExecution(definitionPath, input, ownCall) {
  const definition = JSON.parse(readFileSync(definitionPath, "utf8"));
  const tasks = Object.entries(definition.States).filter(([, state]) => state.Type === "Task");
  // tasks "interpreter": the interpreter's own Lambda call instead (same Invoke API).
  const overrides = {
    taskResourceLocalHandlers: ownCall
      ? {}
      : Object.fromEntries(
          tasks.map(([name, state]) => [name, (input) => invoke(state.Resource, input)]),
        ),
    retryIntervalOverrides: Object.fromEntries(
      tasks
        .filter(([, state]) => state.Retry)
        .map(([name, state]) => [name, state.Retry.map(() => 0)]),
    ),
  };

  const execution = new StateMachine(definition).run(input, { overrides });
  const events = [];
  const logging = (async () => {
    for await (const event of execution.eventLogs) events.push(event);
  })();

  let answer;
  try {
    answer = { status: "SUCCEEDED", output: await execution.result };
  } catch (error) {
    answer = { status: "FAILED", error: error.name, cause: error.message };
  }
  await logging;
  return { ...answer, events };
}

for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
  if (!line.trim()) continue;
  let answer;
  try {
    const request = JSON.parse(line);
    answer = await runExecution(request.definition, request.input, request.tasks === "interpreter");
  } catch (error) {
    answer = { harness_error: String(error && error.stack ? error.stack : error) };
  }
  process.stdout.write(JSON.stringify(answer) + "\n");
}
