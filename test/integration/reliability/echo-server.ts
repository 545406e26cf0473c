import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the misbehaving server answers, decided per request (0-based count). */
export type EchoAnswer = (request: { index: number; path: string; secret: string }) => {
  status: number;
  headers?: Record<string, string>;
  /** A string is sent as is (HTML, broken JSON); anything else as JSON. */
  body?: unknown;
};

/** A running misbehaving server. */
export interface EchoServer {
  readonly url: string;
  /** Every secret it received (Authorization bearer values and capture `api_key`s). */
  readonly secretsSeen: Set<string>;
  readonly requests: { method: string; path: string; status: number }[];
  close(): Promise<void>;
}

/**
 * A server (or proxy) that behaves badly on purpose: it reflects whatever credential a request carried back into
 * the error envelope (`type`, `code`, `detail`, `attr`), into headers (`x-request-id`, `location`) and into bodies
 * that are not JSON, so a test can prove none of it reaches logs, errors or dead letters. Loopback only.
 */
export async function startEchoServer(answer: EchoAnswer): Promise<EchoServer> {
  const secretsSeen = new Set<string>();
  const requests: EchoServer['requests'] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const bearer = /^Bearer\s+(\S+)/i.exec(req.headers.authorization ?? '')?.[1];
      let token: string | undefined;
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { api_key?: unknown };
        if (typeof body.api_key === 'string') token = body.api_key;
      } catch {
        // not JSON: nothing to reflect from the body
      }
      const secret = bearer ?? token ?? 'no-secret-sent';
      if (bearer) secretsSeen.add(bearer);
      if (token) secretsSeen.add(token);
      const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
      const reply = answer({ index: requests.length, path, secret });
      requests.push({ method: req.method ?? 'GET', path, status: reply.status });
      const text =
        reply.body === undefined
          ? ''
          : typeof reply.body === 'string'
            ? reply.body
            : JSON.stringify(reply.body);
      res.writeHead(reply.status, {
        'content-type': typeof reply.body === 'string' ? 'text/html' : 'application/json',
        'x-request-id': `req-${secret}`,
        ...reply.headers,
      });
      res.end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    secretsSeen,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The error envelope with the secret in every field. */
export const echoEnvelope = (secret: string) => ({
  type: `validation_error ${secret}`,
  code: secret,
  detail: `The key ${secret} is not valid for this project`,
  attr: secret,
});
