// ts-greeter is an example plugin worker for Rigger, in TypeScript: it
// serves the external action acme:greet on its own Temporal task queue,
// like examples/plugins/go-greeter (same contract, same settings). Rigger
// never runs this code: it schedules the activity named acme:greet on the
// queue scaffolder.externalActions names and checks the input before and
// the output after.
//
// It reads only its own environment: TEMPORAL_ADDRESS [127.0.0.1:7233],
// TEMPORAL_NAMESPACE [default], GREETER_TASK_QUEUE [acme-plugins] and, as a
// test aid, GREETER_CALLS_FILE (each call appends the JSON it received).
import { appendFileSync, existsSync } from 'node:fs';
import { heartbeat } from '@temporalio/activity';
import { NativeConnection, Worker } from '@temporalio/worker';

/** What Rigger sends: the step's input (valid against the input schema) and which run calls. */
interface GreetRequest {
  input: {
    name: string;
    /** Adds envNames and riggerConfigFound to the output. */
    inspect?: boolean;
    /** Test aid: "wrong-output" returns the greeting as a number, violating the output schema. */
    testMode?: string;
  };
  run: { taskId: string; stepId: string; templateRef?: string; user?: string; dryRun: boolean };
}

const callsFile = process.env.GREETER_CALLS_FILE ?? '';

/** acme:greet: returns {output: {...}}. */
async function greet(req: GreetRequest): Promise<{ output: Record<string, unknown> }> {
  if (callsFile !== '') {
    appendFileSync(callsFile, JSON.stringify(req) + '\n', { mode: 0o600 });
  }
  heartbeat();
  const output: Record<string, unknown> = {
    greeting: req.run.dryRun ? `(dry run) would greet ${req.input.name}` : `Hello, ${req.input.name}!`,
  };
  if (req.input.testMode === 'wrong-output') {
    output.greeting = 42;
  }
  if (req.input.inspect) {
    output.envNames = Object.keys(process.env).sort();
    output.riggerConfigFound = process.env.RIGGER_CONFIG !== undefined || existsSync('rigger.yaml');
  }
  return { output };
}

async function main(): Promise<void> {
  const address = process.env.TEMPORAL_ADDRESS || '127.0.0.1:7233';
  const namespace = process.env.TEMPORAL_NAMESPACE || 'default';
  const taskQueue = process.env.GREETER_TASK_QUEUE || 'acme-plugins';
  const connection = await NativeConnection.connect({ address });
  // Activities only: the object's keys are the activity types.
  const worker = await Worker.create({ connection, namespace, taskQueue, activities: { 'acme:greet': greet } });
  console.log(`ts-greeter: serving acme:greet on task queue ${taskQueue} (Temporal ${address}, namespace ${namespace})`);
  await worker.run(); // until SIGINT or SIGTERM
  await connection.close();
}

main().catch((err) => {
  console.error('ts-greeter:', err);
  process.exit(1);
});
