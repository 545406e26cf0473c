import type { EffectScheduler } from './scheduler.ts';
import { type EmulatorStore, snapshotPerson } from './store.ts';
import type {
  ActivityEntry,
  AsyncDeletionRow,
  CohortSnapshot,
  EventSnapshot,
  IngestionWarning,
  JsonValue,
  PersonSnapshot,
  RequestLogEntry,
} from './types.ts';

/** A filter over the request log; every given field must match. */
export interface RequestFilter {
  endpoint?: string;
  method?: string;
  status?: number;
  fault?: RequestLogEntry['fault'];
}

const matches = (r: RequestLogEntry, f: RequestFilter): boolean =>
  (f.endpoint === undefined || r.endpoint === f.endpoint) &&
  (f.method === undefined || r.method === f.method) &&
  (f.status === undefined || r.status === f.status) &&
  (f.fault === undefined || r.fault === f.fault);

/** Read-only inspection of an emulator's state. Every getter returns a fresh copy. */
export class EmulatorInspector {
  public constructor(
    private readonly store: EmulatorStore,
    private readonly log: RequestLogEntry[],
    private readonly scheduler: EffectScheduler,
  ) {}

  /** Every person of every team (ClickHouse-only ones included, flagged). */
  public get persons(): PersonSnapshot[] {
    return this.store.persons().map(snapshotPerson);
  }

  /** Every ingested event, in ingestion order. */
  public get events(): EventSnapshot[] {
    return this.store.events.map(({ seq: _seq, ...e }) => structuredClone(e));
  }

  /** Activity entries (wire shape), oldest first, with their team. */
  public get activity(): (ActivityEntry & { teamId: number })[] {
    return this.store.activity.map((a) => ({ ...structuredClone(a.entry), teamId: a.teamId }));
  }

  /** Static cohorts. */
  public get cohorts(): CohortSnapshot[] {
    return [...this.store.cohorts.values()].map((c) => structuredClone(c));
  }

  /** `AsyncDeletion` rows (events queued for deletion). */
  public get asyncDeletions(): AsyncDeletionRow[] {
    return this.store.asyncDeletions.map((r) => ({ ...r }));
  }

  /** Recording deletions queued by `delete_recordings`. */
  public get recordingDeletions(): { teamId: number; personUuid: string; at: string }[] {
    return this.store.recordingDeletions.map((r) => ({ ...r }));
  }

  /** Ingestion warnings (`cannot_merge_with_illegal_distinct_id`, `cannot_merge_already_identified`). */
  public get warnings(): IngestionWarning[] {
    return this.store.warnings.map((w) => structuredClone(w));
  }

  /** Every request received, in arrival order. `status` is 0 until answered (and stays 0 for hang/reset). */
  public get requestLog(): RequestLogEntry[] {
    return this.log.map((r) => ({ ...r }));
  }

  /** Delayed effects not applied yet (`split`, `ingest`, `async_delete`). */
  public get pendingEffects(): string[] {
    return this.scheduler.labels;
  }

  /** The person that owns `distinctId` now (default: the emulator's project). */
  public personByDistinctId(distinctId: string, teamId?: number): PersonSnapshot | undefined {
    const teams = teamId === undefined ? [...this.store.teams.keys()] : [teamId];
    for (const t of teams) {
      const p = this.store.byDistinctId(t, distinctId);
      if (p) return snapshotPerson(p);
    }
    return undefined;
  }

  /** A person by uuid, in any team. */
  public personByUuid(uuid: string): PersonSnapshot | undefined {
    for (const t of this.store.teams.keys()) {
      const p = this.store.byUuid(t, uuid);
      if (p) return snapshotPerson(p);
    }
    return undefined;
  }

  /** Requests matching `filter`. */
  public requests(filter: RequestFilter = {}): RequestLogEntry[] {
    return this.log.filter((r) => matches(r, filter)).map((r) => ({ ...r }));
  }

  /** How many requests match `filter`. */
  public count(filter: RequestFilter = {}): number {
    let n = 0;
    for (const r of this.log) if (matches(r, filter)) n += 1;
    return n;
  }

  /** The whole state as JSON (served at `GET /_emulator/state`). */
  public toJSON(): JsonValue {
    return structuredClone({
      persons: this.persons,
      events: this.events,
      activity: this.activity,
      cohorts: this.cohorts,
      asyncDeletions: this.asyncDeletions,
      recordingDeletions: this.recordingDeletions,
      warnings: this.warnings,
      pendingEffects: this.pendingEffects,
      requestLog: this.requestLog,
    }) as unknown as JsonValue;
  }
}
