import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A loopback stand-in for Secrets Manager's `GetSecretValue`, enough for the AWS SDK v3 client. */
export interface SecretsManagerStub {
  /** `http://127.0.0.1:<port>`: the value for `AWS_ENDPOINT_URL_SECRETS_MANAGER`. */
  readonly endpoint: string;
  /** Secret ids asked for, in order (to show the Powertools cache at work). */
  readonly requests: readonly string[];
  /** Replaces (or adds) a secret's string, e.g. to simulate a rotation. */
  put(secretId: string, value: string): void;
  close(): Promise<void>;
}

/**
 * Starts the stub on 127.0.0.1 (port 0 by default). There is no Secrets Manager emulator on npm
 * (docs/development.md, "Fakes"), and the handlers must run unchanged locally, so this answers the one call they make,
 * in the JSON 1.1 protocol the SDK speaks: `x-amz-target: secretsmanager.GetSecretValue`.
 */
export async function startSecretsManagerStub(
  secrets: Readonly<Record<string, string>>,
  port = 0,
): Promise<SecretsManagerStub> {
  const values = new Map(Object.entries(secrets));
  const requests: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
    });
    req.on('end', () => {
      const reply = (status: number, payload: object) => {
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify(payload));
      };
      if (req.headers['x-amz-target'] !== 'secretsmanager.GetSecretValue') {
        return reply(400, {
          __type: 'UnknownOperationException',
          message: 'only GetSecretValue is stubbed',
        });
      }
      let secretId = '';
      try {
        secretId = String((JSON.parse(body) as { SecretId?: unknown }).SecretId ?? '');
      } catch {
        return reply(400, { __type: 'SerializationException', message: 'body is not JSON' });
      }
      requests.push(secretId);
      const value = values.get(secretId);
      if (value === undefined) {
        return reply(400, {
          __type: 'ResourceNotFoundException',
          message: "Secrets Manager can't find the specified secret.",
        });
      }
      reply(200, {
        ARN: `arn:aws:secretsmanager:us-east-1:000000000000:secret:${secretId}`,
        Name: secretId,
        SecretString: value,
        VersionId: '00000000-0000-4000-8000-000000000000',
        VersionStages: ['AWSCURRENT'],
        CreatedDate: Date.now() / 1000,
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const address = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    requests,
    put: (secretId, value) => {
      values.set(secretId, value);
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
