/**
 * A webhook receiver for tests, on a loopback address, over http or https: it verifies what it
 * receives with the `standardwebhooks` package exactly as a customer's receiver would, and has
 * the misbehaving routes a sender must survive (redirect, hang, endless body, 410, 503).
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface ReceivedWebhook {
  path: string;
  method: string;
  headers: IncomingMessage['headers'];
  body: string;
  /** `true`, or the verifier's error message. */
  verified: true | string;
}

export interface WebhookReceiver {
  host: string;
  port: number;
  received: ReceivedWebhook[];
  /** TCP connections accepted (before TLS), for "nothing was dialled" proofs. */
  connections(): number;
  /** Bytes of filler written by `/endless` so far. */
  fillerBytes(): number;
  close(): Promise<void>;
}

const FILLER = Buffer.alloc(16 * 1024, 'z');

export async function startWebhookReceiver(options: {
  host: string;
  /** Secret(s) the receiver verifies with; it accepts a message verified by any one of them. */
  secrets: string[];
  tls?: { cert: string; key: string };
}): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  const sockets = new Set<Socket>();
  let connections = 0;
  let filler = 0;

  const verify = (body: string, headers: IncomingMessage['headers']): true | string => {
    const flat: Record<string, string> = {};
    for (const [k, v] of Object.entries(headers)) if (typeof v === 'string') flat[k] = v;
    let last = 'no secret';
    for (const secret of options.secrets) {
      try {
        new Webhook(secret).verify(body, flat);
        return true;
      } catch (err) {
        last = (err as Error).message;
      }
    }
    return last;
  };

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const path = req.url ?? '/';
      received.push({
        path,
        method: req.method ?? '',
        headers: req.headers,
        body,
        verified: verify(body, req.headers),
      });
      const route = new URL(path, 'http://receiver.invalid').pathname;
      switch (route) {
        case '/hook': {
          const ok = received.at(-1)?.verified === true;
          res.writeHead(ok ? 204 : 400).end(ok ? undefined : 'bad signature');
          return;
        }
        case '/redirect':
          res.writeHead(307, { location: 'https://elsewhere.test/moved?token=RECEIVER-SECRET' }).end();
          return;
        case '/hang':
          return; // Never answers; the socket is destroyed on close().
        case '/endless': {
          res.writeHead(200, { 'content-type': 'text/plain' });
          const pump = () => {
            while (!res.destroyed && !res.writableEnded) {
              filler += FILLER.length;
              if (!res.write(FILLER)) return void res.once('drain', pump);
            }
          };
          pump();
          return;
        }
        case '/gone':
          res.writeHead(410, { 'content-type': 'text/plain' }).end('endpoint removed');
          return;
        case '/unavailable':
          res.writeHead(503, { 'content-type': 'text/plain' }).end('down for\u0000 maintenance\u0007');
          return;
        default:
          res.writeHead(404).end();
      }
    });
  };

  const server = options.tls
    ? https.createServer({ cert: options.tls.cert, key: options.tls.key }, handler)
    : http.createServer(handler);
  server.on('connection', (socket: Socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('tlsClientError', () => {});
  server.on('clientError', (_err, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    host: options.host,
    port: (server.address() as AddressInfo).port,
    received,
    connections: () => connections,
    fillerBytes: () => filler,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
