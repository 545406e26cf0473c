import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';

/** Calls a function with one SQS event, as Lambda would, and returns what it returned (or throws). */
export interface Invoker {
  /** `killAfterMs` (chaos tests): the sandbox dies that long into the run, before its timeout, mid-batch. */
  invoke(
    event: SQSEvent,
    options: { timeoutMs: number; killAfterMs?: number },
  ): Promise<SQSBatchResponse | undefined>;
  close(): Promise<void>;
}

/** The handler shape both lanes export. */
export type SqsBatchHandler = (
  event: SQSEvent,
  context: Context,
) => Promise<SQSBatchResponse | undefined>;

/** Thrown when an invocation runs past its timeout, as Lambda reports `Task timed out`. */
export class InvocationTimeoutError extends Error {
  public constructor(timeoutMs: number) {
    super(`Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`);
    this.name = 'InvocationTimeoutError';
  }
}

/** Thrown when the runner killed an invocation on purpose (a chaos test's stand-in for a crash or a lost sandbox). */
export class InvocationKilledError extends Error {
  public constructor(afterMs: number) {
    super(`Invocation killed after ${afterMs} ms (chaos)`);
    this.name = 'InvocationKilledError';
  }
}

/** A Lambda-like context whose `getRemainingTimeInMillis` counts down to the invocation's deadline. */
export function lambdaContext(
  functionName: string,
  deadline: number,
  requestId = randomUUID(),
): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** Runs a handler function in this process (tests of the runner itself, and TS-source runs). */
export function inProcessInvoker(
  handler: SqsBatchHandler,
  functionName = 'local-function',
): Invoker {
  return {
    async invoke(event, { timeoutMs }) {
      const context = lambdaContext(functionName, Date.now() + timeoutMs);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new InvocationTimeoutError(timeoutMs)), timeoutMs);
      });
      try {
        return (await Promise.race([handler(event, context), timeout])) ?? undefined;
      } finally {
        clearTimeout(timer);
      }
    },
    async close() {},
  };
}

/** Options of {@link workerInvoker}. */
export interface WorkerInvokerOptions {
  /** The handler module: a bundle (`dist/functions/*.mjs`) or a `.ts` source (loaded through tsx). */
  readonly module: string;
  /** The export to call. @default 'handler' */
  readonly exportName?: string;
  /** The function's whole environment, as Lambda would set it (nothing else from this process leaks in). */
  readonly env: Readonly<Record<string, string>>;
  /** How many instances may run at once (Lambda's concurrency for this function). @default 1 */
  readonly instances?: number;
  readonly functionName?: string;
  /** Every line the function writes to stdout (JSON logs and EMF metrics). */
  readonly onStdout?: (line: string) => void;
  /** Every line the function writes to stderr. @default written to this process's stderr */
  readonly onStderr?: (line: string) => void;
}

/**
 * Source of `sandboxContext(functionName, id, deadline)`, the Lambda context object a handler receives, for the
 * sandbox bootstraps (this file's worker and process-invoker.ts's child process) to include.
 */
export const LAMBDA_CONTEXT_SOURCE = `
function sandboxContext(functionName, id, deadline) {
  return {
    callbackWaitsForEmptyEventLoop: false, functionName, functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:' + functionName,
    memoryLimitInMB: '512', awsRequestId: id, logGroupName: '/aws/lambda/' + functionName,
    logStreamName: 'local', getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done() {}, fail() {}, succeed() {},
  };
}
`;

// The sandbox bootstrap: loads the module once (the cold start), then serves invocations.
const BOOTSTRAP = `${LAMBDA_CONTEXT_SOURCE}
const { parentPort, workerData } = require('node:worker_threads');
const ready = (async () => {
  if (workerData.tsxApi) (await import(workerData.tsxApi)).register();
  const mod = await import(workerData.moduleUrl);
  const handler = mod[workerData.exportName];
  if (typeof handler !== 'function') throw new Error('module has no export ' + workerData.exportName);
  return handler;
})();
parentPort.on('message', async ({ id, event, deadline }) => {
  try {
    const handler = await ready;
    const context = sandboxContext(workerData.functionName, id, deadline);
    const response = await handler(event, context);
    done(id, { id, ok: true, response: response ?? null });
  } catch (error) {
    done(id, { id, ok: false, error: String(error && error.stack || error) });
  }
});
// Stdout and stderr (Powertools writes WARN/ERROR there) reach the parent on other channels than messages: a
// marker line on each, after the invocation's output, lets the parent wait until every line has arrived.
function done(id, message) {
  let pending = 2;
  const next = () => { pending -= 1; if (pending === 0) parentPort.postMessage(message); };
  process.stdout.write(workerData.marker + id + '\\n', next);
  process.stderr.write(workerData.marker + id + '\\n', next);
}
`;

interface WorkerReply {
  id: string;
  ok: boolean;
  response?: SQSBatchResponse | null;
  error?: string;
}

/** Marks the end of one invocation's stdout and stderr (never part of a function's own output). */
const STDOUT_MARKER = '\u001eRELAY_INVOCATION_DONE ';

interface Instance {
  worker: Worker;
  /** Invocation id → how many of its two markers (stdout, stderr) have arrived. */
  flushed: Map<string, number>;
  /** The reply of the current invocation, held until both its markers have arrived. */
  reply?: { id: string; message: WorkerReply } | undefined;
  busy: boolean;
  /** Timed out or crashed: never handed out again. */
  dead?: boolean;
  pending?:
    | { resolve: (r: SQSBatchResponse | undefined) => void; reject: (e: Error) => void }
    | undefined;
}

/**
 * Runs the handler the way Lambda does: each instance is a separate sandbox (a worker thread with its own
 * module scope and its own `process.env`), created on first use (a cold start) and reused while warm. An
 * invocation that outlives its timeout has its instance terminated, like a Lambda timeout, and the next
 * invocation cold-starts a new one. Stdout (Powertools' JSON logs and EMF) is captured line by line.
 */
export function workerInvoker(options: WorkerInvokerOptions): Invoker {
  const capacity = options.instances ?? 1;
  const functionName = options.functionName ?? 'local-function';
  const instances: Instance[] = [];
  const waiting: ((instance: Instance) => void)[] = [];
  const tsxApi = options.module.endsWith('.ts') ? import.meta.resolve('tsx/esm/api') : undefined;

  const spawn = (): Instance => {
    const worker = new Worker(BOOTSTRAP, {
      eval: true,
      env: { ...options.env },
      stdout: true,
      stderr: true,
      workerData: {
        moduleUrl: pathToFileURL(options.module).href,
        exportName: options.exportName ?? 'handler',
        functionName,
        tsxApi,
        marker: STDOUT_MARKER,
      },
    });
    const instance: Instance = { worker, busy: false, flushed: new Map() };
    const onStdout = options.onStdout ?? (() => undefined);
    const settle = () => {
      const reply = instance.reply;
      if (!reply || instance.flushed.get(reply.id) !== 2) return;
      instance.reply = undefined;
      instance.flushed.delete(reply.id);
      const pending = instance.pending;
      instance.pending = undefined;
      if (!pending) return;
      if (reply.message.ok) pending.resolve(reply.message.response ?? undefined);
      else pending.reject(new Error(reply.message.error ?? 'handler failed'));
    };
    const marker = (line: string): boolean => {
      if (!line.startsWith(STDOUT_MARKER)) return false;
      const id = line.slice(STDOUT_MARKER.length);
      instance.flushed.set(id, (instance.flushed.get(id) ?? 0) + 1);
      settle();
      return true;
    };
    pipeLines(worker.stdout, (line) => {
      if (!marker(line)) onStdout(line);
    });
    const onStderr = options.onStderr ?? ((line) => process.stderr.write(`${line}\n`));
    pipeLines(worker.stderr, (line) => {
      if (!marker(line)) onStderr(line);
    });
    // The reply travels on the worker's message port, its stdout/stderr on another channel: hold the reply
    // until the invocation's markers (written after all of its output) have arrived, so that whoever
    // reads the function's logs and EMF after the invocation sees all of them.
    worker.on('message', (message: WorkerReply) => {
      instance.reply = { id: message.id, message };
      settle();
    });
    worker.on('error', (error) => {
      instance.pending?.reject(error);
      instance.pending = undefined;
      remove(instance);
    });
    worker.on('exit', () => {
      instance.pending?.reject(new Error('function instance exited'));
      instance.pending = undefined;
      remove(instance);
    });
    instances.push(instance);
    return instance;
  };

  let closed = false;

  const remove = (instance: Instance) => {
    instance.dead = true;
    const index = instances.indexOf(instance);
    if (index >= 0) instances.splice(index, 1);
    // A replacement may now be spawned for whoever waits.
    const next = closed ? undefined : waiting.shift();
    if (next) next(claim(spawn()));
  };

  const claim = (instance: Instance): Instance => {
    instance.busy = true;
    return instance;
  };

  const acquire = (): Promise<Instance> => {
    const idle = instances.find((i) => !i.busy && !i.dead);
    if (idle) return Promise.resolve(claim(idle));
    if (instances.filter((i) => !i.dead).length < capacity) return Promise.resolve(claim(spawn()));
    return new Promise((resolve) => waiting.push(resolve));
  };

  const release = (instance: Instance) => {
    instance.busy = false;
    if (instance.dead || !instances.includes(instance)) return;
    const next = waiting.shift();
    if (next) next(claim(instance));
  };

  return {
    async invoke(event, { timeoutMs, killAfterMs }) {
      const instance = await acquire();
      const id = randomUUID();
      let timer: NodeJS.Timeout | undefined;
      const killed = killAfterMs !== undefined && killAfterMs < timeoutMs;
      try {
        return await new Promise<SQSBatchResponse | undefined>((resolve, reject) => {
          instance.pending = { resolve, reject };
          timer = setTimeout(
            () => {
              instance.pending = undefined;
              instance.dead = true;
              reject(
                killed
                  ? new InvocationKilledError(killAfterMs)
                  : new InvocationTimeoutError(timeoutMs),
              );
              // Lambda throws the sandbox away after a timeout; so do we (and a killed one is gone anyway).
              void instance.worker.terminate();
            },
            killed ? killAfterMs : timeoutMs,
          );
          instance.worker.postMessage({ id, event, deadline: Date.now() + timeoutMs });
        });
      } finally {
        clearTimeout(timer);
        release(instance);
      }
    },
    async close() {
      closed = true;
      const all = [...instances];
      instances.length = 0;
      await Promise.all(all.map((i) => i.worker.terminate()));
    },
  };
}

function pipeLines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let buffered = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buffered += chunk;
    let newline = buffered.indexOf('\n');
    while (newline >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      if (line.trim() !== '') onLine(line);
      newline = buffered.indexOf('\n');
    }
  });
  stream.on('end', () => {
    if (buffered.trim() !== '') onLine(buffered);
    buffered = '';
  });
}
