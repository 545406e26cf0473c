import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import {
  DEMO_FUNNEL_EVENTS,
  demoSeed,
  type FunnelRoutes,
  startPostHogEmulator,
} from '../local/posthog-emulator/index.ts';
import { listeningOn } from './errors.ts';
import { nonNegativeInt, port, positiveNumber } from './parsers.ts';

/** Options of `persons-relay emulator`, as commander parses them. */
interface EmulatorCommandOptions {
  port: number;
  projectId: number;
  timeScale: number;
  seedDemo: boolean;
  bulkDeleteMode: 'sync' | 'async';
  splitDelayMs: number;
  ingestionDelayMs: number;
  rateLimits: boolean;
  funnelRoutes: FunnelRoutes;
}

const FUNNEL_ROUTES: readonly FunnelRoutes[] = ['removed', 'refused', 'legacy'];

/** What the banner says about the default key under each funnel-routes mode. */
const KEY_NOTE: Record<FunnelRoutes, string> = {
  removed: 'scopes ["*"], as on current PostHog',
  refused: 'scopes ["*"], as on current PostHog',
  legacy: 'legacy no-scope key, older self-hosted PostHog',
};

/** What the banner says about the funnel person routes under each mode. */
const FUNNEL_NOTE: Record<FunnelRoutes, string> = {
  removed:
    'removed, as on current PostHog (PR #73064); --funnel-routes legacy for older self-hosted PostHog',
  refused: '403 to every personal API key (PostHog 2026-03 to 2026-07)',
  legacy: 'served (older self-hosted PostHog)',
};

/**
 * `persons-relay emulator`: run the local PostHog emulator in the foreground until Ctrl-C.
 *
 * @example
 * npx persons-relay emulator --port 8010 --seed-demo
 */
export const registerEmulatorCommands = (program: Command): void => {
  program
    .command('emulator')
    .description('Run the local PostHog Persons API + capture emulator on 127.0.0.1 (foreground)')
    .option('-p, --port <n>', 'port to listen on (0 = any free port)', port('--port'), 8010)
    .option('--project-id <n>', 'project (team) id', positiveNumber('--project-id'), 1)
    .option(
      '--time-scale <x>',
      'run emulated time x times faster (rate-limit windows, delays)',
      positiveNumber('--time-scale'),
      1,
    )
    .option('--seed-demo', 'create the demo persons, events and cohorts', false)
    .option(
      '--bulk-delete-mode <mode>',
      'sync, or async (PERSON_BULK_DELETE_ASYNC response shape)',
      (v: string) => {
        if (v !== 'sync' && v !== 'async') throw new InvalidArgumentError('must be sync or async');
        return v;
      },
      'sync',
    )
    .option(
      '--split-delay-ms <ms>',
      'delay before a split is applied',
      nonNegativeInt('--split-delay-ms'),
      0,
    )
    .option(
      '--ingestion-delay-ms <ms>',
      'delay before captured events and $set apply',
      nonNegativeInt('--ingestion-delay-ms'),
      0,
    )
    .option('--no-rate-limits', 'turn the API throttles off')
    .option(
      '--funnel-routes <mode>',
      'persons/funnel/ and funnel/correlation/: removed (current PostHog), refused (403 to personal keys), or legacy (served, for older self-hosted PostHog)',
      (v: string) => {
        if (!(FUNNEL_ROUTES as readonly string[]).includes(v)) {
          throw new InvalidArgumentError('must be removed, refused or legacy');
        }
        return v as FunnelRoutes;
      },
      'removed',
    )
    .addHelpText(
      'after',
      `
Examples:
  $ npx persons-relay emulator --seed-demo
  $ npx persons-relay emulator --port 0 --time-scale 60 --bulk-delete-mode async`,
    )
    .action(async (opts: EmulatorCommandOptions) => {
      const starting = startPostHogEmulator({
        port: opts.port,
        projectId: opts.projectId,
        timeScale: opts.timeScale,
        bulkDeleteMode: opts.bulkDeleteMode,
        splitDelayMs: opts.splitDelayMs,
        ingestionDelayMs: opts.ingestionDelayMs,
        rateLimits: { enabled: opts.rateLimits },
        funnelRoutes: opts.funnelRoutes,
        ...(opts.seedDemo ? { seed: demoSeed() } : {}),
      });
      const emulator = await listeningOn('--port', opts.port, () => starting);
      const persons = emulator.state.persons.length;
      process.stdout.write(
        [
          'PostHog emulator running (Ctrl-C to stop)',
          `  base URL:          ${emulator.url}`,
          `  persons API:       ${emulator.url}/api/projects/${emulator.projectId}/persons/`,
          `  capture:           ${emulator.url}/i/v0/e/  and  ${emulator.url}/batch/`,
          `  project id:        ${emulator.projectId}`,
          `  personal API key:  ${emulator.personalApiKey}  (${KEY_NOTE[opts.funnelRoutes]})`,
          `  project token:     ${emulator.projectToken}`,
          `  time scale:        ${emulator.timeScale}x`,
          `  persons seeded:    ${persons}`,
          `  funnel routes:     ${FUNNEL_NOTE[opts.funnelRoutes]}`,
          ...(opts.seedDemo
            ? [`  demo funnel:       events=${JSON.stringify(DEMO_FUNNEL_EVENTS)}`]
            : []),
          `  inspect state:     GET ${emulator.url}/_emulator/state`,
          '',
        ].join('\n'),
      );
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await emulator.close();
    });
};
