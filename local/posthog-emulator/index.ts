import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiKeyRegistry } from './auth.ts';
import { ScaledClock } from './clock.ts';
import type { EmulatorContext } from './context.ts';
import { FaultInjector } from './faults.ts';
import { type IngestEvent, ingestEvent } from './ingestion.ts';
import { EmulatorInspector } from './inspector.ts';
import { RateLimiter } from './rate-limiter.ts';
import { EffectScheduler } from './scheduler.ts';
import { createRequestListener } from './server.ts';
import { EmulatorStore, snapshotPerson } from './store.ts';
import type {
  ApiKeySpec,
  CohortSnapshot,
  EmulatorSeed,
  FaultOptions,
  FunnelRoutes,
  PersonSnapshot,
  PostHogEmulatorOptions,
  RequestLogEntry,
  SeedCohort,
  SeedEvent,
  SeedPerson,
} from './types.ts';

export { DEMO_FUNNEL_EVENTS, DEMO_SEED, demoSeed } from './demo-seed.ts';
export {
  isDistinctIdIllegal,
  PERSON_UUID_NAMESPACE,
  splitTargetUuid,
  uuidFromDistinctId,
} from './ids.ts';
export { EmulatorInspector } from './inspector.ts';
export type * from './types.ts';

/** The default personal API key: scopes `["*"]` (or a legacy no-scope key with `funnelRoutes: 'legacy'`). */
export const DEFAULT_PERSONAL_API_KEY = 'phx_emulator_demo_personal_api_key';
/** The default project token. */
export const DEFAULT_PROJECT_TOKEN = 'phc_emulator_demo_project_token';

/** A running emulator (contract A). */
export interface PostHogEmulator {
  /** `http://127.0.0.1:PORT`: serves both `/api/projects/...` and capture (`/i/v0/e/`, `/batch/`). */
  readonly url: string;
  readonly projectId: number;
  /** The default key: scopes `["*"]`, or with `funnelRoutes: 'legacy'` a legacy no-scope key (`scopes: null`). */
  readonly personalApiKey: string;
  /** The values of `options.apiKeys`, in order. */
  readonly apiKeys: readonly string[];
  /** Which PostHog the funnel person routes behave like. */
  readonly funnelRoutes: FunnelRoutes;
  readonly projectToken: string;
  readonly timeScale: number;
  /** Register another personal key; returns its value. */
  addApiKey(key: ApiKeySpec): string;
  /** Replace the whole fault configuration at runtime (reseeds the fault PRNG). */
  setFaults(faults: FaultOptions): void;
  /** While on, every /api and capture request answers 503. */
  setOutage(on: boolean): void;
  /** Create persons directly (as if ingested long ago). */
  seedPersons(persons: SeedPerson[]): PersonSnapshot[];
  /** Ingest events now, synchronously, through the same person processing as capture. */
  seedEvents(events: SeedEvent[]): void;
  /** Create a static cohort. */
  seedCohort(cohort: SeedCohort): CohortSnapshot;
  /** Replace a cohort's members (a recalculation); `deleted: true` hides it. */
  updateCohort(id: number, change: { members?: string[]; deleted?: boolean }): void;
  /** Add a team (project) with its own token (default `phc_team<ID>`); returns the token. */
  addTeam(teamId: number, token?: string): string;
  /** Make the next deletion of this person fail (it lands in `deletion_errors`; DELETE answers 503). */
  failNextDeletion(personUuid: string, step?: string): void;
  /** Mark every pending AsyncDeletion verified and drop those persons' events (the weekly batch job); returns the count. */
  completeAsyncDeletions(): number;
  /** Forget rate-limit history. */
  resetRateLimits(): void;
  /** Read-only inspection. */
  readonly state: EmulatorInspector;
  /** Apply every pending delayed effect now (splits, ingestion, async deletions). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

const resolveTeam = (
  store: EmulatorStore,
  projectId: number,
  teamId: number | undefined,
): number => {
  const id = teamId ?? projectId;
  if (!store.teams.has(id)) store.addTeam(id, `phc_team${id}`);
  return id;
};

/**
 * Start a PostHog Persons API + capture emulator on 127.0.0.1.
 *
 * @example
 * const ph = await startPostHogEmulator({ timeScale: 60, seed: demoSeed() });
 * await fetch(`${ph.url}/api/projects/${ph.projectId}/persons/`, {
 *   headers: { Authorization: `Bearer ${ph.personalApiKey}` },
 * });
 * await ph.close();
 */
export const startPostHogEmulator = async (
  options: PostHogEmulatorOptions = {},
): Promise<PostHogEmulator> => {
  const projectId = options.projectId ?? 1;
  const timeScale = options.timeScale ?? 1;
  const clock = new ScaledClock(timeScale, options.now ?? Date.now);
  const store = new EmulatorStore();
  const projectToken = options.projectToken ?? DEFAULT_PROJECT_TOKEN;
  store.addTeam(projectId, projectToken);
  const scheduler = new EffectScheduler(clock);
  const funnelRoutes = options.funnelRoutes ?? 'removed';
  const legacyKeys = funnelRoutes === 'legacy';
  const keys = new ApiKeyRegistry(legacyKeys);
  // PR #51237 backfilled every legacy (scopes NULL) key to ["*"]; only older self-hosted PostHog still has them.
  const personalApiKey = keys.add({
    value: options.personalApiKey ?? DEFAULT_PERSONAL_API_KEY,
    scopes: legacyKeys ? null : ['*'],
  });
  for (const team of options.teams ?? []) {
    store.addTeam(team.id, team.projectToken ?? `phc_team${team.id}`);
  }
  const apiKeys = (options.apiKeys ?? []).map((spec) => keys.add(spec));
  const limits = options.rateLimits ?? {};
  const limiter = new RateLimiter(
    {
      deletePerMinute: limits.deletePerMinute ?? 480,
      deletePerHour: limits.deletePerHour ?? 4800,
      otherPerMinute: limits.otherPerMinute ?? 240,
      enabled: limits.enabled ?? true,
    },
    clock,
  );
  const faults = new FaultInjector(options.faults ?? {});
  const requestLog: RequestLogEntry[] = [];
  let baseUrl = '';

  const ctx: EmulatorContext = {
    store,
    scheduler,
    clock,
    settings: {
      projectId,
      splitDelayMs: options.splitDelayMs ?? 0,
      ingestionDelayMs: options.ingestionDelayMs ?? 0,
      asyncDeleteDelayMs: options.asyncDeleteDelayMs ?? 0,
      bulkDeleteMode: options.bulkDeleteMode ?? 'sync',
      funnelRoutes,
      user: options.user ?? { first_name: 'Emulator', email: 'emulator@example.com' },
    },
    restricted: new Set(options.restrictedProperties ?? []),
    baseUrl: () => baseUrl,
    ingestLater: (events: IngestEvent[]) => {
      scheduler.schedule('ingest', options.ingestionDelayMs ?? 0, () => {
        for (const e of events) ingestEvent(store, e);
      });
    },
  };
  const inspector = new EmulatorInspector(store, requestLog, scheduler);
  const hung = new Set<ServerResponse>();

  const seedPersons = (persons: SeedPerson[]): PersonSnapshot[] =>
    persons.map((p) =>
      snapshotPerson(
        store.createPerson({
          teamId: resolveTeam(store, projectId, p.teamId),
          distinctIds: p.distinctIds,
          ...(p.properties ? { properties: p.properties } : {}),
          ...(p.uuid ? { uuid: p.uuid } : {}),
          ...(p.createdAt ? { createdAt: new Date(p.createdAt).toISOString() } : {}),
          ...(p.isIdentified !== undefined ? { isIdentified: p.isIdentified } : {}),
          ...(p.clickhouseOnly !== undefined ? { clickhouseOnly: p.clickhouseOnly } : {}),
        }),
      ),
    );
  const seedEvents = (events: SeedEvent[]): void => {
    for (const e of events) {
      ingestEvent(store, {
        teamId: resolveTeam(store, projectId, e.teamId),
        event: e.event,
        distinctId: e.distinctId,
        properties: structuredClone(e.properties ?? {}),
        timestamp: new Date(e.timestamp ?? Date.now()).toISOString(),
        ...(e.uuid ? { uuid: e.uuid } : {}),
      });
    }
  };
  const memberUuids = (teamId: number, members: string[]): string[] =>
    members.map((m) => {
      const person = store.byUuid(teamId, m) ?? store.byDistinctId(teamId, m);
      if (!person)
        throw new Error(`cohort member ${JSON.stringify(m)} is not a person of team ${teamId}`);
      return person.uuid;
    });
  const seedCohort = (c: SeedCohort): CohortSnapshot => {
    const teamId = resolveTeam(store, projectId, c.teamId);
    return structuredClone(
      store.addCohort({
        teamId,
        name: c.name,
        memberUuids: memberUuids(teamId, c.members),
        ...(c.id !== undefined ? { id: c.id } : {}),
      }),
    );
  };
  const applySeed = (seed: EmulatorSeed): void => {
    for (const t of seed.teams ?? []) resolveTeam(store, projectId, t);
    seedPersons(seed.persons ?? []);
    seedEvents(seed.events ?? []);
    for (const c of seed.cohorts ?? []) seedCohort(c);
  };
  if (options.seed) applySeed(options.seed);

  const server = createServer(
    createRequestListener({
      ctx,
      keys,
      limiter,
      faults,
      rateLimitScope: limits.scope ?? 'key',
      requestLog,
      hung,
      inspect: (path, method) => {
        if (path === '/_emulator/state' && method === 'GET') return inspector.toJSON();
        if (path === '/_emulator/flush' && method === 'POST') {
          scheduler.flush();
          return { flushed: true };
        }
        return undefined;
      },
    }),
  );
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  baseUrl = `http://127.0.0.1:${port}`;
  let closed: Promise<void> | undefined;

  return {
    url: baseUrl,
    projectId,
    personalApiKey,
    apiKeys,
    funnelRoutes,
    projectToken,
    timeScale,
    addApiKey: (spec) => keys.add(spec),
    setFaults: (f) => faults.configure(f),
    setOutage: (on) => faults.setOutage(on),
    seedPersons,
    seedEvents,
    seedCohort,
    updateCohort: (id, change) => {
      const cohort = store.cohorts.get(id);
      if (!cohort) throw new Error(`no cohort ${id}`);
      if (change.members) cohort.memberUuids = memberUuids(cohort.teamId, change.members);
      if (change.deleted !== undefined) cohort.deleted = change.deleted;
    },
    addTeam: (teamId, token) => {
      store.addTeam(teamId, token ?? `phc_team${teamId}`);
      return store.teams.get(teamId)?.token ?? '';
    },
    failNextDeletion: (personUuid, step = 'delete_postgres') => {
      store.deletionFailures.set(personUuid.toLowerCase(), step);
    },
    completeAsyncDeletions: () => {
      let count = 0;
      const now = new Date().toISOString();
      for (const row of store.asyncDeletions) {
        if (row.deleteVerifiedAt !== null) continue;
        row.deleteVerifiedAt = now;
        count += 1;
        for (let i = store.events.length - 1; i >= 0; i--) {
          const e = store.events[i];
          if (e && e.teamId === row.teamId && e.personUuid === row.personUuid)
            store.events.splice(i, 1);
        }
      }
      return count;
    },
    resetRateLimits: () => limiter.reset(),
    state: inspector,
    flush: async () => {
      scheduler.flush();
    },
    close: () => {
      closed ??= new Promise<void>((resolve) => {
        scheduler.close();
        for (const res of hung) res.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
};
