/**
 * Cold start and size: each bundle's bytes (raw and gzip -9) and its module init time, as the median of `runs`
 * fresh `node` processes, on Node 20 (this machine) and Node 22 (the Lambda runtime's major, from the npm registry
 * through `npx -y node@22`). Init = `await import(bundle)` timed inside the process, so Node's own start-up is not
 * counted. Each module gets a complete function environment, so its cold-start work (config parse, clients) runs.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { quantiles } from './format.ts';

/** One measured module. */
export interface ColdStartRow {
  readonly name: string;
  readonly bytes: number;
  readonly gzipBytes: number;
  /** Median init ms per Node major (`null` when that Node could not be run). */
  readonly initMs: { readonly node20: number | null; readonly node22: number | null };
}

const INIT_SCRIPT = `
const started = performance.now();
await import(process.env.BENCH_MODULE_URL);
process.stdout.write(JSON.stringify({ initMs: performance.now() - started }));
`;

/** A complete function environment pointing nowhere (nothing is called during init). */
const FUNCTION_ENV = {
  POSTHOG_HOST: 'http://127.0.0.1:9',
  POSTHOG_PROJECT_ID: '1',
  POSTHOG_SECRET_ID: 'persons-relay/posthog',
  QUEUE_URL: 'http://127.0.0.1:9/000000000000/q',
  DLQ_URL: 'http://127.0.0.1:9/000000000000/dlq',
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
} as const;

/** The Node 22 binary from the npm registry (`npx -y node@22`; downloads once), or null if unavailable. */
export function node22Binary(): string | null {
  try {
    return execFileSync('npx', ['-y', '-p', 'node@22', '--', 'node', '-p', 'process.execPath'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 180_000,
    }).trim();
  } catch {
    return null;
  }
}

function medianInit(node: string, file: string, lane: string, runs: number): number {
  const sample = Array.from({ length: runs }, () => {
    const out = execFileSync(node, ['--input-type=module', '-e', INIT_SCRIPT], {
      encoding: 'utf8',
      env: {
        PATH: process.env['PATH'] ?? '',
        ...FUNCTION_ENV,
        LANE: lane,
        BENCH_MODULE_URL: pathToFileURL(file).href,
      },
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return (JSON.parse(out) as { initMs: number }).initMs;
  });
  return quantiles(sample).median;
}

/** Measures each `{ name, file, lane }` on Node 20 (`process.execPath`) and on `node22` when given. */
export function coldStart(
  modules: readonly { name: string; file: string; lane: string; sizeOnly?: boolean }[],
  runs: number,
  node22: string | null,
): ColdStartRow[] {
  return modules.map(({ name, file, lane, sizeOnly }) => {
    const code = readFileSync(file);
    return {
      name,
      bytes: code.length,
      gzipBytes: gzipSync(code, { level: 9 }).length,
      initMs: {
        node20: sizeOnly ? null : medianInit(process.execPath, file, lane, runs),
        node22: sizeOnly || node22 === null ? null : medianInit(node22, file, lane, runs),
      },
    };
  });
}
