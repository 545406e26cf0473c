import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { IngressHandler } from '#lib/ingress/index.ts';
import { lambdaContext } from '../runner/invoker.ts';

/** The ingress served on loopback, as API Gateway would call it. */
export interface LocalIngress {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Serves an ingress handler on 127.0.0.1 (port 0 by default): each HTTP request becomes an HTTP API payload
 * format 2.0 event, exactly the event the deployed function receives, and the proxy result becomes the response.
 */
export async function startLocalIngress(handler: IngressHandler, port = 0): Promise<LocalIngress> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const event = toHttpApiEvent(req, Buffer.concat(chunks));
      handler(event, lambdaContext('persons-relay-ingress', Date.now() + 10_000))
        .then((result) => {
          const headers: Record<string, string> = {};
          for (const [name, value] of Object.entries(result.headers ?? {}))
            headers[name] = String(value);
          res.writeHead(result.statusCode ?? 200, headers);
          res.end(
            result.isBase64Encoded ? Buffer.from(result.body ?? '', 'base64') : (result.body ?? ''),
          );
        })
        .catch((error: unknown) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`ingress handler threw: ${String(error)}`);
        });
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const address = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}`,
    close: () =>
      new Promise<void>((resolve, reject) =>
        server.close((error) => (error ? reject(error) : resolve())),
      ),
  };
}

function toHttpApiEvent(req: IncomingMessage, body: Buffer): APIGatewayProxyEventV2 {
  const url = new URL(req.url ?? '/', `http://${req.headers.host ?? '127.0.0.1'}`);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  // API Gateway terminates TLS and says so in x-forwarded-proto; this server is plain HTTP on loopback.
  headers['x-forwarded-proto'] ??= 'http';
  const method = req.method ?? 'GET';
  const now = new Date();
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: url.pathname,
    rawQueryString: url.search.replace(/^\?/, ''),
    headers,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: headers['host'] ?? '127.0.0.1',
      domainPrefix: 'local',
      http: {
        method,
        path: url.pathname,
        protocol: 'HTTP/1.1',
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: `local-${now.getTime()}`,
      routeKey: '$default',
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    ...(body.length > 0 ? { body: body.toString('utf8') } : {}),
    isBase64Encoded: false,
  };
}
