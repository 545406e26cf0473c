import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestBundles, exampleLines, personsState, startPipeline } from './harness.ts';
import { recordFigures } from './reliability/figures.ts';

// The deployed bundles on the Lambda runtime's Node major (nodejs22.x), not only on this machine's Node 20: the
// runner starts each sandbox as a child process of Node 22 from the npm registry (`npx -y -p node@22`, downloaded
// once into npm's npx cache, then reused), and the whole example pipeline must end as it does on Node 20.

const run = promisify(execFile);

/** The Node 22 binary from npm's npx cache (downloaded on first use). */
async function node22Path(): Promise<string> {
  const { stdout } = await run(
    'npx',
    ['-y', '-p', 'node@22', '--', 'node', '-p', 'process.execPath'],
    {
      timeout: 170_000,
    },
  );
  return stdout.trim();
}

let bundles: Awaited<ReturnType<typeof buildTestBundles>>;
let nodePath: string;

beforeAll(async () => {
  [bundles, nodePath] = await Promise.all([buildTestBundles(), node22Path()]);
}, 180_000);

afterAll(async () => {
  await bundles.cleanup();
});

async function runExamples(onNode22: boolean) {
  const pipeline = await startPipeline(bundles.modules, {
    stack: onNode22 ? { nodePath } : {},
  });
  try {
    await pipeline.send(await exampleLines());
    pipeline.stack.startPolling();
    await pipeline.stack.waitUntilDrained({ timeoutMs: 200_000 });
    await pipeline.emulator.flush();
    const outcomes = [...pipeline.stack.observer.outcomes.values()]
      .map(
        (o) =>
          `${o.correlationId.startsWith('bad') || o.correlationId.startsWith('broken') ? o.correlationId : o.commandType} ${o.outcome} ${o.code ?? ''}`,
      )
      .sort();
    return {
      state: personsState(pipeline.emulator),
      outcomes,
      versions: pipeline.stack.runtimeVersions,
      requests: pipeline.emulator.state.requestLog
        .map((r) => `${r.method} ${r.endpoint} ${r.status}`)
        .sort(),
    };
  } finally {
    await pipeline.close();
  }
}

describe('the bundles on Node 22 (Lambda nodejs22.x)', () => {
  it('run the example pipeline on Node 22 exactly as on Node 20', async () => {
    // Act
    const node20 = await runExamples(false);
    const node22 = await runExamples(true);

    // Assess: every invocation ran on Node 22, with the same outcomes, calls and final persons
    expect([...node22.versions].every((v) => v.startsWith('v22.'))).toBe(true);
    expect(node22.versions.size).toBeGreaterThan(0);
    expect(node22.outcomes).toEqual(node20.outcomes);
    expect(node22.requests).toEqual(node20.requests);
    expect(node22.state).toEqual(node20.state);
    recordFigures('node22', {
      'sandbox Node versions': [...node22.versions].join(', '),
      'messages (examples/events.ndjson)': node22.outcomes.length,
      'outcomes, PostHog calls and persons equal to Node 20': 'yes',
    });
  }, 400_000);
});
