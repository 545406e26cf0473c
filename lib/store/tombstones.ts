import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  type DynamoDBClient,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { TABLE_KEYS, tombstoneItemKey } from './table.ts';

/** How long a tombstone keeps capture writes away from an erased distinct id. @default 30 days */
export const DEFAULT_TOMBSTONE_TTL_DAYS = 30;

/**
 * Tombstones of erased distinct ids (the port). The deletions lane records them when it deletes persons by distinct
 * id; the changes lane asks, before any capture-based write, whether a target was erased.
 */
export interface TombstoneStore {
  /** Records that `distinctIds` were erased at `now` (epoch ms); they stay erased for the configured TTL. */
  record(distinctIds: readonly string[], now: number): Promise<void>;
  /** The subset of `distinctIds` with a live (unexpired) tombstone at `now`. */
  erased(distinctIds: readonly string[], now: number): Promise<Set<string>>;
}

/** Options of {@link DynamoTombstoneStore}. */
export interface DynamoTombstoneStoreOptions {
  readonly tableName: string;
  /** Tombstones are per project: the same distinct id in another project is another person. */
  readonly projectId: string | number;
  /** @default {@link DEFAULT_TOMBSTONE_TTL_DAYS} */
  readonly ttlDays?: number;
  /** Rounds of retries of unprocessed keys/items before giving up (throws). @default 5 */
  readonly maxUnprocessedRounds?: number;
}

/** BatchGetItem reads at most 100 items, BatchWriteItem writes at most 25 (DynamoDB API reference). */
const BATCH_GET_MAX = 100;
const BATCH_WRITE_MAX = 25;

/**
 * {@link TombstoneStore} on the shared state table: one item per (project, distinct id) keyed by a SHA-256 of both
 * (no raw id is stored), with `expiresAt` as the TTL attribute. Reads use BatchGetItem (at most 100 keys a request,
 * https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchGetItem.html) and check `expiresAt`
 * themselves, because DynamoDB may return an expired item until its TTL process removes it.
 */
export class DynamoTombstoneStore implements TombstoneStore {
  readonly #client: DynamoDBClient;
  readonly #tableName: string;
  readonly #projectId: string;
  readonly #ttlSeconds: number;
  readonly #maxRounds: number;

  public constructor(client: DynamoDBClient, options: DynamoTombstoneStoreOptions) {
    const days = options.ttlDays ?? DEFAULT_TOMBSTONE_TTL_DAYS;
    if (!(Number.isFinite(days) && days > 0)) {
      throw new TypeError(`ttlDays must be positive, got ${days}`);
    }
    this.#client = client;
    this.#tableName = options.tableName;
    this.#projectId = String(options.projectId);
    this.#ttlSeconds = Math.round(days * 86_400);
    this.#maxRounds = options.maxUnprocessedRounds ?? 5;
  }

  public async record(distinctIds: readonly string[], now: number): Promise<void> {
    const keys = [...new Set(distinctIds.map((id) => tombstoneItemKey(this.#projectId, id)))];
    const expiresAt = Math.ceil(now / 1000) + this.#ttlSeconds;
    for (let i = 0; i < keys.length; i += BATCH_WRITE_MAX) {
      let requests: WriteRequest[] = keys.slice(i, i + BATCH_WRITE_MAX).map((pk) => ({
        PutRequest: {
          Item: {
            [TABLE_KEYS.partitionKey]: { S: pk },
            erasedAt: { N: String(now) },
            [TABLE_KEYS.ttlAttribute]: { N: String(expiresAt) },
          },
        },
      }));
      for (let round = 0; requests.length > 0; round++) {
        if (round >= this.#maxRounds) {
          throw new Error(`${requests.length} tombstone(s) were left unprocessed by DynamoDB`);
        }
        const { UnprocessedItems } = await this.#client.send(
          new BatchWriteItemCommand({ RequestItems: { [this.#tableName]: requests } }),
        );
        requests = UnprocessedItems?.[this.#tableName] ?? [];
      }
    }
  }

  public async erased(distinctIds: readonly string[], now: number): Promise<Set<string>> {
    const byKey = new Map<string, string>();
    for (const id of distinctIds) byKey.set(tombstoneItemKey(this.#projectId, id), id);
    const keys = [...byKey.keys()];
    const found = new Set<string>();
    const nowSeconds = now / 1000;
    const chunks: string[][] = [];
    for (let i = 0; i < keys.length; i += BATCH_GET_MAX)
      chunks.push(keys.slice(i, i + BATCH_GET_MAX));
    await Promise.all(
      chunks.map(async (chunk) => {
        let pending = chunk.map((pk) => ({ [TABLE_KEYS.partitionKey]: { S: pk } }));
        for (let round = 0; pending.length > 0; round++) {
          if (round >= this.#maxRounds) {
            throw new Error(`${pending.length} tombstone key(s) were left unprocessed by DynamoDB`);
          }
          const { Responses, UnprocessedKeys } = await this.#client.send(
            new BatchGetItemCommand({
              RequestItems: {
                [this.#tableName]: {
                  Keys: pending,
                  ConsistentRead: true,
                  ProjectionExpression: '#pk, #exp',
                  ExpressionAttributeNames: {
                    '#pk': TABLE_KEYS.partitionKey,
                    '#exp': TABLE_KEYS.ttlAttribute,
                  },
                },
              },
            }),
          );
          for (const item of Responses?.[this.#tableName] ?? []) {
            const pk = item[TABLE_KEYS.partitionKey]?.S;
            const expiresAt = Number(item[TABLE_KEYS.ttlAttribute]?.N ?? 0);
            const id = pk === undefined ? undefined : byKey.get(pk);
            if (id !== undefined && expiresAt > nowSeconds) found.add(id);
          }
          pending = (UnprocessedKeys?.[this.#tableName]?.Keys ?? []) as typeof pending;
        }
      }),
    );
    return found;
  }
}
