import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { BudgetStore, StoredBucket } from '../budget/store.ts';
import type { BucketState } from '../budget/token-bucket.ts';
import { TABLE_KEYS } from './table.ts';

/**
 * {@link BudgetStore} on the shared state table. One item per (key hash, bucket):
 * `{ pk, v, tat: [theoretical arrival time per window], bins: [[bin, slots, …] per window], ms: latest slot, bu,
 * expiresAt }`. Both windows of the delete bucket live in one item, so
 * one conditional UpdateItem takes from both atomically (no transaction needed).
 *
 * Optimistic concurrency: a write carries `v = :expected` (or `attribute_not_exists(pk)` for a new item) as its
 * condition and sets `v = :expected + 1`; a lost race is a `ConditionalCheckFailedException`
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html). The write
 * returns `ALL_NEW`, which the limiter caches: while one instance is the only writer, a take is one round trip.
 */
export class DynamoBudgetStore implements BudgetStore {
  readonly #client: DynamoDBClient;
  readonly #tableName: string;

  public constructor(client: DynamoDBClient, tableName: string) {
    this.#client = client;
    this.#tableName = tableName;
  }

  public async read(key: string, signal: AbortSignal): Promise<StoredBucket | undefined> {
    const { Item } = await this.#client.send(
      new GetItemCommand({
        TableName: this.#tableName,
        Key: { [TABLE_KEYS.partitionKey]: { S: key } },
        ConsistentRead: true,
      }),
      { abortSignal: signal },
    );
    return Item === undefined ? undefined : parse(Item);
  }

  public async write(
    key: string,
    state: BucketState,
    expected: number | undefined,
    expiresAt: number,
    signal: AbortSignal,
  ): Promise<StoredBucket | undefined> {
    try {
      const { Attributes } = await this.#client.send(
        new UpdateItemCommand({
          TableName: this.#tableName,
          Key: { [TABLE_KEYS.partitionKey]: { S: key } },
          UpdateExpression: 'SET #v = :next, #tat = :tat, #bins = :bins, #ms = :ms, #exp = :exp',
          ConditionExpression: expected === undefined ? 'attribute_not_exists(#pk)' : '#v = :v',
          ExpressionAttributeNames: {
            '#v': 'v',
            '#tat': 'tat',
            '#bins': 'bins',
            '#ms': 'ms',
            '#exp': TABLE_KEYS.ttlAttribute,
            ...(expected === undefined ? { '#pk': TABLE_KEYS.partitionKey } : {}),
          },
          ExpressionAttributeValues: {
            ':next': num((expected ?? 0) + 1),
            ':tat': { L: state.tat.map((t) => num(t)) },
            ':bins': { L: (state.bins ?? []).map((flat) => ({ L: flat.map((n) => num(n)) })) },
            ':ms': num(state.maxSlot ?? 0),
            ':exp': num(expiresAt),
            ...(expected === undefined ? {} : { ':v': num(expected) }),
          },
          ReturnValues: 'ALL_NEW',
        }),
        { abortSignal: signal },
      );
      return Attributes === undefined ? undefined : parse(Attributes);
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  }

  public async block(
    key: string,
    until: number,
    expiresAt: number,
    signal: AbortSignal,
  ): Promise<void> {
    try {
      await this.#client.send(
        new UpdateItemCommand({
          TableName: this.#tableName,
          Key: { [TABLE_KEYS.partitionKey]: { S: key } },
          // Bumping the version makes every cached state stale: no instance can take on a state that misses the block.
          UpdateExpression:
            'SET #bu = :u, #v = if_not_exists(#v, :zero) + :one, #exp = if_not_exists(#exp, :exp)',
          ConditionExpression: 'attribute_not_exists(#bu) OR #bu < :u',
          ExpressionAttributeNames: { '#bu': 'bu', '#v': 'v', '#exp': TABLE_KEYS.ttlAttribute },
          ExpressionAttributeValues: {
            ':u': num(until),
            ':zero': num(0),
            ':one': num(1),
            ':exp': num(expiresAt),
          },
        }),
        { abortSignal: signal },
      );
    } catch (error) {
      // Someone already blocked at least as long: nothing to do.
      if (error instanceof ConditionalCheckFailedException) return;
      throw error;
    }
  }
}

const num = (value: number): AttributeValue => ({ N: String(value) });

function parse(item: Record<string, AttributeValue>): StoredBucket {
  const n = (value: AttributeValue | undefined): number | undefined =>
    value?.N === undefined ? undefined : Number(value.N);
  return {
    version: n(item['v']) ?? 0,
    // An item written only by `block` has no TATs yet: an idle bucket, blocked.
    state: {
      tat: item['tat']?.L?.map((t) => n(t) ?? 0) ?? [],
      blockedUntil: n(item['bu']) ?? 0,
      bins: item['bins']?.L?.map((window) => window.L?.map((c) => n(c) ?? 0) ?? []) ?? [],
      maxSlot: n(item['ms']) ?? 0,
    },
  };
}
