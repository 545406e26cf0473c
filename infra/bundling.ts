/**
 * One source of truth for how the Lambda bundles are built.
 *
 * CDK's `NodejsFunction` (see `nodejsBundlingOptions` in `infra/constructs/queue-consumer.ts`) and the local
 * build (`buildFunctionBundles`, used by the local runner and the bundle tests) both read `bundleSettings`, so
 * the artefact tested locally is built exactly like the one deployed.
 *
 * This module deliberately imports nothing from `aws-cdk-lib`: loading the CDK library costs about a second,
 * and the local runner only needs esbuild.
 */
import { statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { BuildOptions, Metafile } from 'esbuild';

/** Repository root (this file lives in `infra/`). */
export const projectRoot: string = path.resolve(import.meta.dirname, '..');

/**
 * Powertools' ESM recipe: some transitive dependencies still call `require()` (e.g. for Node built-ins),
 * which does not exist in an ES module, so the bundle defines one from `import.meta.url`.
 */
export const esmRequireBanner =
  "import { createRequire } from 'module';const require = createRequire(import.meta.url);";

/**
 * Bundle settings shared by CDK and the local build.
 *
 * - ESM: the format of Powertools' own ESM recipe (its docs/upgrade.md), and it lets esbuild tree-shake.
 * - `@aws-sdk/*` external: the nodejs22.x runtime ships SDK v3; bundling it adds ~450 KB per client.
 * - `mainFields: module, main`: prefer the ESM builds of dependencies (better tree-shaking).
 * - Source maps without `sourcesContent`: stack traces map back to `.ts` lines (with
 *   `NODE_OPTIONS=--enable-source-maps`) while the map stays small.
 */
export const bundleSettings = {
  format: 'esm',
  platform: 'node',
  target: 'node22',
  minify: true,
  sourcemap: true,
  sourcesContent: false,
  mainFields: ['module', 'main'],
  external: ['@aws-sdk/*'],
  banner: esmRequireBanner,
} as const;

/** Lambda function name (kebab-case, as the file in `functions/`) → entry file, relative to the repository root. */
export const functionEntries = {
  'apply-deletions': 'functions/apply-deletions.ts',
  'apply-changes': 'functions/apply-changes.ts',
  ingress: 'functions/ingress.ts',
} as const;

/** Name of a deployable function, e.g. `'apply-deletions'`. */
export type FunctionName = keyof typeof functionEntries;

/** The function names, in a stable order. */
export const functionNames: readonly FunctionName[] = Object.keys(
  functionEntries,
) as FunctionName[];

/** Absolute path of a function's entry file. */
export function entryPath(name: FunctionName): string {
  return path.join(projectRoot, functionEntries[name]);
}

/** Default output directory of the local build: `dist/functions/<name>.mjs`. */
export const defaultBundleOutdir: string = path.join(projectRoot, 'dist', 'functions');

/**
 * esbuild options for the local build of the given functions, equivalent to what `NodejsFunction` runs.
 *
 * @param outdir where `<name>.mjs` and `<name>.mjs.map` are written
 * @param names the functions to build (default: all)
 */
export function esbuildOptions(
  outdir: string,
  names: readonly FunctionName[] = functionNames,
): BuildOptions & { metafile: true } {
  return {
    entryPoints: Object.fromEntries(names.map((name) => [name, entryPath(name)])),
    outdir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    format: bundleSettings.format,
    platform: bundleSettings.platform,
    target: bundleSettings.target,
    minify: bundleSettings.minify,
    sourcemap: bundleSettings.sourcemap,
    sourcesContent: bundleSettings.sourcesContent,
    mainFields: [...bundleSettings.mainFields],
    external: [...bundleSettings.external],
    banner: { js: bundleSettings.banner },
    absWorkingDir: projectRoot,
    metafile: true,
    logLevel: 'silent',
  };
}

/** One built bundle. */
export interface BuiltBundle {
  readonly name: FunctionName;
  /** Absolute path of the `.mjs` file. */
  readonly file: string;
  /** Absolute path of the `.mjs.map` file. */
  readonly sourceMap: string;
  /** Size of the `.mjs` file in bytes. */
  readonly bytes: number;
}

/**
 * Builds the function bundles with esbuild's JS API, exactly as CDK would (same settings).
 *
 * @param outdir output directory (created if missing) @default `dist/functions`
 * @param names the functions to build @default all of `functionEntries`
 * @returns one entry per function with its file and size, plus esbuild's metafile for size analysis
 */
export async function buildFunctionBundles(
  outdir: string = defaultBundleOutdir,
  names: readonly FunctionName[] = functionNames,
): Promise<{ bundles: BuiltBundle[]; metafile: Metafile }> {
  // Imported lazily so that importing this module (e.g. from the CDK app) does not load esbuild.
  const { build } = await import('esbuild');
  const absOutdir = path.resolve(outdir);
  await mkdir(absOutdir, { recursive: true });
  const result = await build(esbuildOptions(absOutdir, names));
  const bundles = names.map((name): BuiltBundle => {
    const file = path.join(absOutdir, `${name}.mjs`);
    return { name, file, sourceMap: `${file}.map`, bytes: statSync(file).size };
  });
  return { bundles, metafile: result.metafile };
}
