import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { build } from 'esbuild';
import { buildFunctionBundles, esbuildOptions, projectRoot } from '../infra/bundling.ts';

/** Every module the benchmark runs or measures, built like the deployed functions (`infra/bundling.ts`). */
export interface BenchBundles {
  readonly relay: { readonly deletions: string; readonly changes: string };
  /** The per-record Powertools handler (both lanes; the lane comes from `LANE`). */
  readonly baseline: string;
  /** Reference for init time: Powertools BatchProcessor + Logger, nothing else. */
  readonly minimalPowertools: string;
  /** Reference for init time: the same plus an SQS client (what any handler that dead-letters needs). */
  readonly minimalPowertoolsSqs: string;
}

/** Builds the relay's functions and the bench's own handlers into `outdir` with the shared esbuild settings. */
export async function buildBenchBundles(outdir: string): Promise<BenchBundles> {
  await mkdir(outdir, { recursive: true });
  await buildFunctionBundles(outdir);
  const entries = {
    'baseline-per-record': 'bench/baseline/per-record-handler.ts',
    'minimal-powertools': 'bench/baseline/minimal-powertools-handler.ts',
    'minimal-powertools-sqs': 'bench/baseline/minimal-powertools-sqs-handler.ts',
  };
  // The functions' own esbuild settings (infra/bundling.ts), so the baseline and the references are built alike.
  await build({
    ...esbuildOptions(outdir, []),
    entryPoints: Object.fromEntries(
      Object.entries(entries).map(([name, file]) => [name, path.join(projectRoot, file)]),
    ),
  });
  const at = (name: string) => path.join(outdir, `${name}.mjs`);
  return {
    relay: { deletions: at('apply-deletions'), changes: at('apply-changes') },
    baseline: at('baseline-per-record'),
    minimalPowertools: at('minimal-powertools'),
    minimalPowertoolsSqs: at('minimal-powertools-sqs'),
  };
}
