import type { AddressInfo } from 'node:net';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  type DynamoDBClientConfig,
} from '@aws-sdk/client-dynamodb';
import { TABLE_KEYS } from '#lib/store/index.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../sqs/index.ts';

/** Name of the local shared state table (the deployed one is named by CDK). */
export const LOCAL_STATE_TABLE = 'persons-relay-state';

/** An embedded dynalite with the shared state table created. */
export interface LocalDynamo {
  /** `http://127.0.0.1:<port>`: the value for `AWS_ENDPOINT_URL_DYNAMODB`. */
  readonly endpoint: string;
  readonly region: string;
  readonly tableName: string;
  /** A client for this endpoint (tests, the bench). */
  readonly client: DynamoDBClient;
  /** Another client, e.g. one per simulated instance. */
  createClient(config?: DynamoDBClientConfig): DynamoDBClient;
  stop(): Promise<void>;
}

/**
 * Starts dynalite 4.0.0 in this process, on 127.0.0.1 only, with the shared state table (the same key schema as the
 * CDK table: partition key `pk`, on demand). dynalite has no TTL process and no transactions; the relay needs
 * neither (readers check `expiresAt` themselves, and a delete's two windows share one item).
 */
export async function startLocalDynamo(
  options: { port?: number; tableName?: string } = {},
): Promise<LocalDynamo> {
  // Loaded on first use, like fauxqs: only the local stack and the tests need it.
  const { default: dynalite } = await import('dynalite');
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const tableName = options.tableName ?? LOCAL_STATE_TABLE;
  const createClient = (config: DynamoDBClientConfig = {}): DynamoDBClient =>
    new DynamoDBClient({
      endpoint,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
      ...config,
    });
  const client = createClient();
  const stop = async (): Promise<void> => {
    client.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: TABLE_KEYS.partitionKey, AttributeType: 'S' }],
        KeySchema: [{ AttributeName: TABLE_KEYS.partitionKey, KeyType: 'HASH' }],
      }),
    );
    for (;;) {
      const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
      if (Table?.TableStatus === 'ACTIVE') break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { endpoint, region: LOCAL_REGION, tableName, client, createClient, stop };
}
