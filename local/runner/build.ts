import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  type BuiltBundle,
  buildFunctionBundles,
  defaultBundleOutdir,
  type FunctionName,
} from '../../infra/bundling.ts';

/** The bundle file of each lane's function, as `npm run build` writes it. */
export const LANE_FUNCTIONS = {
  deletions: 'apply-deletions',
  changes: 'apply-changes',
} as const satisfies Record<string, FunctionName>;

/**
 * Builds the deployable bundles (`dist/functions/*.mjs`) with the shared esbuild settings of
 * `infra/bundling.ts`, the same ones CDK's `NodejsFunction` uses, so the local runner executes the artefact
 * that would be deployed. esbuild takes well under a second, so callers simply rebuild.
 */
export async function buildBundles(outdir: string = defaultBundleOutdir): Promise<BuiltBundle[]> {
  const { bundles } = await buildFunctionBundles(outdir);
  return bundles;
}

/** The path of a lane's bundle inside `outdir`. */
export function bundlePath(
  lane: keyof typeof LANE_FUNCTIONS,
  outdir: string = defaultBundleOutdir,
): string {
  return path.join(outdir, `${LANE_FUNCTIONS[lane]}.mjs`);
}

// `npm run build`
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const started = Date.now();
  for (const bundle of await buildBundles()) {
    const relative = path.relative(process.cwd(), bundle.file);
    process.stdout.write(`${relative}  ${(bundle.bytes / 1024).toFixed(1)} KiB\n`);
  }
  process.stdout.write(`built in ${Date.now() - started} ms\n`);
}
