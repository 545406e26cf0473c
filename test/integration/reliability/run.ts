import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { FIGURES_DIR, type Figures } from './figures.ts';

// `npm run test:reliability [-- --full] [-- --report]`: runs test/integration/reliability/ with vitest (CI size by default, the
// full 20,000-message chaos run with --full) and, with --report, prints the figures the tests measured.

const args = new Set(process.argv.slice(2));
const unknown = [...args].filter((a) => a !== '--full' && a !== '--report');
if (unknown.length > 0) {
  process.stderr.write(`unknown option(s) ${unknown.join(' ')}; use --full and/or --report\n`);
  process.exit(2);
}
const full = args.has('--full');

const SECTIONS: Record<string, string> = {
  chaos: 'Chaos run',
  duplicates: 'Duplicates and reordering',
  'bad-input': 'Bad input',
  secrets: 'Secrets',
  node22: 'Lambda runtime (Node 22)',
};

rmSync(FIGURES_DIR, { recursive: true, force: true });
const started = Date.now();
const result = spawnSync(
  'npx',
  ['vitest', 'run', 'test/integration/reliability', 'test/integration/node22.test.ts'],
  {
    stdio: 'inherit',
    env: { ...process.env, RELIABILITY_SIZE: full ? 'full' : 'ci' },
  },
);
const seconds = ((Date.now() - started) / 1000).toFixed(0);

if (args.has('--report')) {
  process.stdout.write(
    `\npersons-relay reliability report (${full ? 'full' : 'CI'} size, ${seconds} s)\n`,
  );
  const files = existsSync(FIGURES_DIR) ? readdirSync(FIGURES_DIR).sort() : [];
  const sections = Object.keys(SECTIONS).filter((s) => files.includes(`${s}.json`));
  if (sections.length === 0)
    process.stdout.write('  no figures were recorded (did the tests run?)\n');
  const rows = sections.flatMap((section) =>
    Object.entries(
      JSON.parse(readFileSync(path.join(FIGURES_DIR, `${section}.json`), 'utf8')) as Figures,
    ),
  );
  const width = Math.max(10, ...rows.map(([label]) => label.length));
  for (const section of sections) {
    const figures = JSON.parse(
      readFileSync(path.join(FIGURES_DIR, `${section}.json`), 'utf8'),
    ) as Figures;
    process.stdout.write(`\n${SECTIONS[section]}\n`);
    for (const [label, value] of Object.entries(figures)) {
      process.stdout.write(`  ${label.padEnd(width)}  ${value}\n`);
    }
  }
  process.stdout.write(`\nvitest exit code ${result.status}\n`);
}
process.exit(result.status ?? 1);
