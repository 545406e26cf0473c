import { randomUUID } from 'node:crypto';
import { parseUuid } from './ids.ts';
import type {
  ActivityChange,
  ActivityEntry,
  AsyncDeletionRow,
  CohortSnapshot,
  EventSnapshot,
  IngestionWarning,
  JsonObject,
  PersonSnapshot,
} from './types.ts';

/** A person row: Postgres and ClickHouse in one (they only differ for `clickhouseOnly` persons). */
export interface PersonRow {
  pk: number;
  uuid: string;
  teamId: number;
  properties: JsonObject;
  /** ISO-8601. */
  createdAt: string;
  lastSeenAt: string | null;
  isIdentified: boolean;
  /** Distinct ids in the order they were added. */
  distinctIds: string[];
  version: number;
  clickhouseOnly: boolean;
}

/** An ingested event. */
export interface EventRow extends EventSnapshot {
  /** Insertion sequence, for stable ordering. */
  seq: number;
}

/** One activity entry plus its team (not part of the wire shape). */
export interface ActivityRow {
  teamId: number;
  entry: ActivityEntry;
}

const key = (teamId: number, distinctId: string): string => `${teamId}\u0000${distinctId}`;

/** In-memory state of every team of one emulator. Plain data; the HTTP layer decides what to expose. */
export class EmulatorStore {
  public readonly teams = new Map<number, { token: string }>();
  readonly #persons = new Map<number, PersonRow>();
  readonly #byUuid = new Map<string, number>();
  readonly #byDistinctId = new Map<string, number>();
  /** uuid of a merged-away person -> uuid of the person it was merged into (ClickHouse person overrides). */
  readonly #overrides = new Map<string, string>();
  public readonly events: EventRow[] = [];
  public readonly activity: ActivityRow[] = [];
  public readonly cohorts = new Map<number, CohortSnapshot>();
  public readonly asyncDeletions: AsyncDeletionRow[] = [];
  public readonly recordingDeletions: { teamId: number; personUuid: string; at: string }[] = [];
  public readonly warnings: IngestionWarning[] = [];
  /** Persons whose next deletion fails, with the step that fails (scenario 17). */
  public readonly deletionFailures = new Map<string, string>();
  #nextPk = 1;
  #nextCohortId = 1;
  #nextEventSeq = 1;

  /** Register a team and its project token. */
  public addTeam(teamId: number, token: string): void {
    if (!this.teams.has(teamId)) this.teams.set(teamId, { token });
  }

  /** Team id of a project token, if known. */
  public teamOfToken(token: string): number | undefined {
    for (const [teamId, team] of this.teams) if (team.token === token) return teamId;
    return undefined;
  }

  /** Create a person; throws if a distinct id is already taken in the team. */
  public createPerson(input: {
    teamId: number;
    distinctIds: string[];
    properties?: JsonObject;
    uuid?: string;
    createdAt?: string;
    isIdentified?: boolean;
    clickhouseOnly?: boolean;
    version?: number;
  }): PersonRow {
    const uuid = input.uuid ? parseUuid(input.uuid) : randomUUID();
    if (!uuid) throw new Error(`not a uuid: ${input.uuid}`);
    if (this.#byUuid.has(uuid)) throw new Error(`person ${uuid} already exists`);
    for (const id of input.distinctIds) {
      if (this.#byDistinctId.has(key(input.teamId, id))) {
        throw new Error(`distinct id ${JSON.stringify(id)} already belongs to a person`);
      }
    }
    const row: PersonRow = {
      pk: this.#nextPk++,
      uuid,
      teamId: input.teamId,
      properties: { ...(input.properties ?? {}) },
      createdAt: input.createdAt ?? new Date().toISOString(),
      lastSeenAt: null,
      isIdentified: input.isIdentified ?? false,
      distinctIds: [],
      version: input.version ?? 0,
      clickhouseOnly: input.clickhouseOnly ?? false,
    };
    this.#persons.set(row.pk, row);
    this.#byUuid.set(uuid, row.pk);
    for (const id of input.distinctIds) this.addDistinctId(row, id);
    return row;
  }

  /** Point `distinctId` at `person` (moving it away from any other person). */
  public addDistinctId(person: PersonRow, distinctId: string): void {
    const k = key(person.teamId, distinctId);
    const previous = this.#byDistinctId.get(k);
    if (previous === person.pk) return;
    if (previous !== undefined) {
      const old = this.#persons.get(previous);
      if (old) old.distinctIds = old.distinctIds.filter((d) => d !== distinctId);
    }
    this.#byDistinctId.set(k, person.pk);
    person.distinctIds.push(distinctId);
  }

  /** The person (of `teamId`) that owns `distinctId` now. */
  public byDistinctId(teamId: number, distinctId: string): PersonRow | undefined {
    const pk = this.#byDistinctId.get(key(teamId, distinctId));
    return pk === undefined ? undefined : this.#persons.get(pk);
  }

  /** Whether any team's person has this uuid (uuids are unique across teams, as in PostHog's table). */
  public hasUuid(uuid: string): boolean {
    return this.#byUuid.has(uuid);
  }

  /** A person of `teamId` by uuid (any accepted uuid spelling). */
  public byUuid(teamId: number, uuid: string): PersonRow | undefined {
    const canonical = parseUuid(uuid);
    if (!canonical) return undefined;
    const pk = this.#byUuid.get(canonical);
    const row = pk === undefined ? undefined : this.#persons.get(pk);
    return row && row.teamId === teamId ? row : undefined;
  }

  /** A person of `teamId` by numeric pk. */
  public byPk(teamId: number, pk: number): PersonRow | undefined {
    const row = this.#persons.get(pk);
    return row && row.teamId === teamId ? row : undefined;
  }

  /** Every person of `teamId` (or all teams), ClickHouse-only ones included. */
  public persons(teamId?: number): PersonRow[] {
    const all = [...this.#persons.values()];
    return teamId === undefined ? all : all.filter((p) => p.teamId === teamId);
  }

  /** Remove a person and its distinct ids (Postgres delete + ClickHouse tombstone). */
  public deletePerson(person: PersonRow): void {
    for (const id of person.distinctIds) this.#byDistinctId.delete(key(person.teamId, id));
    this.#persons.delete(person.pk);
    this.#byUuid.delete(person.uuid);
    for (const cohort of this.cohorts.values()) {
      cohort.memberUuids = cohort.memberUuids.filter((u) => u !== person.uuid);
    }
  }

  /** Record that `fromUuid` was merged into `intoUuid`, so its events now count for the survivor. */
  public addOverride(fromUuid: string, intoUuid: string): void {
    this.#overrides.set(fromUuid, intoUuid);
  }

  /** Follow merge overrides to the uuid that events of `uuid` count for now. */
  public resolveUuid(uuid: string): string {
    let current = uuid;
    for (let i = 0; i < 1000; i++) {
      const next = this.#overrides.get(current);
      if (!next) return current;
      current = next;
    }
    return current;
  }

  /** Append an event. */
  public addEvent(event: EventSnapshot): EventRow {
    const row: EventRow = { ...event, seq: this.#nextEventSeq++ };
    this.events.push(row);
    return row;
  }

  /** Append an activity entry for a person. */
  public logActivity(input: {
    teamId: number;
    user: { first_name: string; email: string };
    activity: ActivityEntry['activity'];
    itemId: number;
    name: string | null;
    changes: ActivityChange[] | null;
  }): ActivityEntry {
    const entry: ActivityEntry = {
      id: randomUUID(),
      user: { ...input.user },
      activity: input.activity,
      scope: 'Person',
      item_id: String(input.itemId),
      detail: {
        changes: input.changes,
        trigger: null,
        type: null,
        name: input.name,
        short_id: null,
      },
      created_at: new Date().toISOString().replace(/\.\d{3}Z$/, (ms) => `${ms.slice(0, 4)}000Z`),
    };
    this.activity.push({ teamId: input.teamId, entry });
    return entry;
  }

  /** Create a static cohort. */
  public addCohort(input: {
    teamId: number;
    name: string;
    memberUuids: string[];
    id?: number;
  }): CohortSnapshot {
    const id = input.id ?? this.#nextCohortId;
    this.#nextCohortId = Math.max(this.#nextCohortId, id + 1);
    const cohort: CohortSnapshot = {
      id,
      teamId: input.teamId,
      name: input.name,
      memberUuids: [...new Set(input.memberUuids)],
      deleted: false,
    };
    this.cohorts.set(id, cohort);
    return cohort;
  }

  /** Add an `AsyncDeletion` row unless one exists for the person (`ignore_conflicts=True`). */
  public addAsyncDeletion(teamId: number, personUuid: string): void {
    if (this.asyncDeletions.some((r) => r.teamId === teamId && r.personUuid === personUuid)) return;
    this.asyncDeletions.push({
      teamId,
      personUuid,
      createdAt: new Date().toISOString(),
      deleteVerifiedAt: null,
    });
  }
}

/** A person as the inspector shows it. */
export const snapshotPerson = (p: PersonRow): PersonSnapshot => ({
  id: p.pk,
  uuid: p.uuid,
  teamId: p.teamId,
  distinctIds: [...p.distinctIds],
  properties: structuredClone(p.properties),
  createdAt: p.createdAt,
  isIdentified: p.isIdentified,
  version: p.version,
  clickhouseOnly: p.clickhouseOnly,
});
