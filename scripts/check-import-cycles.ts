/**
 * Fails (exit 1) when the TypeScript sources import each other in a cycle, type-only imports included (as madge
 * counts them): a cycle means two modules cannot be understood or changed apart, even when it is harmless at run
 * time. Part of `npm run lint`.
 *
 * Why a script and not madge or dependency-cruiser: madge 8 needs TypeScript's JavaScript API (a peer of
 * `typescript@^5`), which TypeScript 7 no longer ships, and dependency-cruiser 18 needs Node 22. This reads the
 * import specifiers with a regular expression, which is enough for this code base (Biome formats every import as
 * `import … from '…'`), and resolves relative paths and the package.json `imports` (`#lib/*`).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
const SOURCE_DIRS = ['lib', 'functions', 'infra', 'local', 'cli', 'bench', 'bin', 'examples'];
const IMPORT =
  /(?:^|[\s;])(?:import|export)\s[^'"`]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s+['"]([^'"]+)['"]/gm;

const packageImports =
  (
    JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      imports?: Record<string, string>;
    }
  ).imports ?? {};

function sourceFiles(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  return entries.flatMap((name) => {
    const path = join(dir, name);
    if (name === 'node_modules' || name.startsWith('.')) return [];
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.(ts|mts)$/.test(name) && !name.endsWith('.d.ts') ? [path] : [];
  });
}

/** The file a specifier names, or undefined for a package import. */
function resolveSpecifier(from: string, specifier: string): string | undefined {
  for (const [pattern, target] of Object.entries(packageImports)) {
    const prefix = pattern.replace(/\*$/, '');
    if (pattern.endsWith('*') ? specifier.startsWith(prefix) : specifier === pattern) {
      return join(ROOT, target.replace('*', specifier.slice(prefix.length)));
    }
  }
  return specifier.startsWith('.') ? resolve(dirname(from), specifier) : undefined;
}

function importGraph(files: readonly string[]): Map<string, string[]> {
  const known = new Set(files);
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const targets = new Set<string>();
    // Comments out first: a TSDoc `@example` may show an import.
    const code = readFileSync(file, 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/^\s*\/\/.*$/gm, '');
    for (const match of code.matchAll(IMPORT)) {
      const target = resolveSpecifier(file, match[1] ?? match[2] ?? match[3] ?? '');
      if (target !== undefined && known.has(target)) targets.add(target);
    }
    graph.set(file, [...targets].sort());
  }
  return graph;
}

/** One cycle through each strongly connected component of more than one file (or a file importing itself). */
function findCycles(graph: Map<string, string[]>): string[][] {
  const cycles: string[][] = [];
  const done = new Set<string>();
  for (const start of [...graph.keys()].sort()) {
    if (done.has(start)) continue;
    const stack: string[] = [];
    const onStack = new Set<string>();
    const visit = (file: string): void => {
      stack.push(file);
      onStack.add(file);
      for (const next of graph.get(file) ?? []) {
        if (onStack.has(next)) cycles.push([...stack.slice(stack.indexOf(next)), next]);
        else if (!done.has(next)) visit(next);
      }
      stack.pop();
      onStack.delete(file);
      done.add(file);
    };
    visit(start);
  }
  return cycles;
}

/**
 * The same graph one level up: lib's folders (and lib/config.ts) as nodes. Files can avoid a cycle while their
 * folders still depend on each other both ways (lib/batch/x.ts → lib/runtime/y.ts → lib/batch/z.ts); lib's
 * folders are its modules, so they must point one way too.
 */
function libFolderGraph(graph: Map<string, string[]>): Map<string, string[]> {
  const folderOf = (file: string): string | undefined => {
    const parts = relative(ROOT, file).split('/');
    if (parts[0] !== 'lib') return undefined;
    return parts.length > 2 ? `lib/${parts[1]}/` : `lib/${parts[1]}`;
  };
  const folders = new Map<string, Set<string>>();
  for (const [file, targets] of graph) {
    const from = folderOf(file);
    if (from === undefined) continue;
    const edges = folders.get(from) ?? new Set<string>();
    folders.set(from, edges);
    for (const target of targets) {
      const to = folderOf(target);
      if (to !== undefined && to !== from) edges.add(to);
    }
  }
  return new Map([...folders].map(([folder, edges]) => [folder, [...edges].sort()]));
}

const files = SOURCE_DIRS.flatMap((dir) => sourceFiles(join(ROOT, dir)));
const graph = importGraph(files);
const show = (node: string) => (node.startsWith('lib/') ? node : relative(ROOT, node));
const found = [
  ...findCycles(graph).map((cycle) => `file cycle:   ${cycle.map(show).join(' > ')}`),
  ...findCycles(libFolderGraph(graph)).map((cycle) => `folder cycle: ${cycle.join(' > ')}`),
];
if (found.length === 0) {
  console.log(
    `import cycles: none in ${files.length} files (${SOURCE_DIRS.join(', ')}) nor between lib's folders`,
  );
} else {
  console.error(`import cycles: ${found.length} found`);
  for (const line of found) console.error(`  ${line}`);
  process.exitCode = 1;
}
