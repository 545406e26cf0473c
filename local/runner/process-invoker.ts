import { type ChildProcess, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { SQSBatchResponse } from 'aws-lambda';
import {
  InvocationKilledError,
  InvocationTimeoutError,
  type Invoker,
  LAMBDA_CONTEXT_SOURCE,
} from './invoker.ts';

/** Options of {@link processInvoker}. */
export interface ProcessInvokerOptions {
  /** The built bundle (`.mjs`): it runs on `nodePath` as is, with no loader. */
  readonly module: string;
  /** The Node binary of the sandboxes, e.g. Node 22 from `npx -y -p node@22` (Lambda's `nodejs22.x` major). */
  readonly nodePath: string;
  readonly exportName?: string;
  /** The function's whole environment. */
  readonly env: Readonly<Record<string, string>>;
  /** @default 1 */
  readonly instances?: number;
  readonly functionName?: string;
  readonly onStdout?: (line: string) => void;
  readonly onStderr?: (line: string) => void;
}

// The sandbox: a child process on another Node binary. Same protocol as the worker bootstrap of invoker.ts: the
// reply on the IPC channel, a marker line on stdout and stderr after the invocation's own output.
const BOOTSTRAP = `${LAMBDA_CONTEXT_SOURCE}
const [moduleUrl, exportName, functionName, marker] = process.argv.slice(2);
const ready = (async () => {
  const mod = await import(moduleUrl);
  const handler = mod[exportName];
  if (typeof handler !== 'function') throw new Error('module has no export ' + exportName);
  return handler;
})();
process.on('message', async ({ id, event, deadline }) => {
  let reply;
  try {
    const handler = await ready;
    const context = sandboxContext(functionName, id, deadline);
    reply = { id, ok: true, response: (await handler(event, context)) ?? null, version: process.version };
  } catch (error) {
    reply = { id, ok: false, error: String((error && error.stack) || error), version: process.version };
  }
  let pending = 2;
  const next = () => { pending -= 1; if (pending === 0) process.send(reply); };
  process.stdout.write(marker + id + '\\n', next);
  process.stderr.write(marker + id + '\\n', next);
});
`;

const MARKER = '\u001eRELAY_INVOCATION_DONE ';

interface Reply {
  id: string;
  ok: boolean;
  response?: SQSBatchResponse | null;
  error?: string;
  version: string;
}

interface Sandbox {
  child: ChildProcess;
  busy: boolean;
  dead: boolean;
  flushed: Map<string, number>;
  reply?: Reply | undefined;
  pending?:
    | { resolve: (r: SQSBatchResponse | undefined) => void; reject: (e: Error) => void }
    | undefined;
}

/**
 * Like `workerInvoker`, but each instance is a child process on `nodePath`: the way to run the deployed bundle on
 * the Lambda runtime's Node major while the tests themselves run on the machine's Node. Cold start on first use,
 * warm reuse, a timeout or kill ends the process. `versions` lists the `process.version` each invocation ran on.
 */
export function processInvoker(options: ProcessInvokerOptions): Invoker & {
  readonly versions: Set<string>;
} {
  const capacity = options.instances ?? 1;
  const functionName = options.functionName ?? 'local-function';
  const bootstrap = path.join(tmpdir(), `persons-relay-bootstrap-${process.pid}.mjs`);
  writeFileSync(bootstrap, BOOTSTRAP);
  const sandboxes: Sandbox[] = [];
  const waiting: ((s: Sandbox) => void)[] = [];
  const versions = new Set<string>();
  let closed = false;

  const spawn = (): Sandbox => {
    const child = fork(
      bootstrap,
      [pathToFileURL(options.module).href, options.exportName ?? 'handler', functionName, MARKER],
      {
        execPath: options.nodePath,
        env: { ...options.env },
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      },
    );
    const sandbox: Sandbox = { child, busy: true, dead: false, flushed: new Map() };
    const settle = () => {
      const reply = sandbox.reply;
      if (!reply || sandbox.flushed.get(reply.id) !== 2) return;
      sandbox.reply = undefined;
      sandbox.flushed.delete(reply.id);
      const pending = sandbox.pending;
      sandbox.pending = undefined;
      versions.add(reply.version);
      if (!pending) return;
      if (reply.ok) pending.resolve(reply.response ?? undefined);
      else pending.reject(new Error(reply.error ?? 'handler failed'));
    };
    const lines = (stream: NodeJS.ReadableStream | null, onLine: (line: string) => void) => {
      let buffered = '';
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        buffered += chunk;
        for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          if (line.startsWith(MARKER)) {
            const id = line.slice(MARKER.length);
            sandbox.flushed.set(id, (sandbox.flushed.get(id) ?? 0) + 1);
            settle();
          } else if (line.trim() !== '') onLine(line);
        }
      });
    };
    lines(child.stdout, options.onStdout ?? (() => undefined));
    lines(child.stderr, options.onStderr ?? ((line) => process.stderr.write(`${line}\n`)));
    child.on('message', (reply: Reply) => {
      sandbox.reply = reply;
      settle();
    });
    child.on('exit', () => {
      sandbox.dead = true;
      sandbox.pending?.reject(new Error('function instance exited'));
      sandbox.pending = undefined;
      const index = sandboxes.indexOf(sandbox);
      if (index >= 0) sandboxes.splice(index, 1);
      const next = closed ? undefined : waiting.shift();
      if (next) next(spawn());
    });
    sandboxes.push(sandbox);
    return sandbox;
  };

  const acquire = (): Promise<Sandbox> => {
    const idle = sandboxes.find((s) => !s.busy && !s.dead);
    if (idle) {
      idle.busy = true;
      return Promise.resolve(idle);
    }
    if (sandboxes.filter((s) => !s.dead).length < capacity) return Promise.resolve(spawn());
    return new Promise((resolve) => waiting.push(resolve));
  };

  const release = (sandbox: Sandbox) => {
    sandbox.busy = false;
    if (sandbox.dead) return;
    const next = waiting.shift();
    if (next) {
      sandbox.busy = true;
      next(sandbox);
    }
  };

  return {
    versions,
    async invoke(event, { timeoutMs, killAfterMs }) {
      const sandbox = await acquire();
      const id = randomUUID();
      const killed = killAfterMs !== undefined && killAfterMs < timeoutMs;
      let timer: NodeJS.Timeout | undefined;
      try {
        return await new Promise<SQSBatchResponse | undefined>((resolve, reject) => {
          sandbox.pending = { resolve, reject };
          timer = setTimeout(
            () => {
              sandbox.pending = undefined;
              sandbox.dead = true;
              reject(
                killed
                  ? new InvocationKilledError(killAfterMs)
                  : new InvocationTimeoutError(timeoutMs),
              );
              sandbox.child.kill('SIGKILL');
            },
            killed ? killAfterMs : timeoutMs,
          );
          sandbox.child.send({ id, event, deadline: Date.now() + timeoutMs });
        });
      } finally {
        clearTimeout(timer);
        release(sandbox);
      }
    },
    async close() {
      closed = true;
      const all = [...sandboxes];
      sandboxes.length = 0;
      await Promise.all(
        all.map(
          (s) =>
            new Promise<void>((resolve) => {
              if (s.child.exitCode !== null || s.child.signalCode !== null) return resolve();
              s.child.once('exit', () => resolve());
              s.child.kill('SIGKILL');
            }),
        ),
      );
    },
  };
}
