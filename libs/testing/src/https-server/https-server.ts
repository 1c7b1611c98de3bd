/**
 * A loopback HTTPS server for tests (MTA-STS policies, BIMI, webhooks): fixed responses per path,
 * with the misbehaviours a fetcher must survive — slow headers, redirects, huge or endless bodies,
 * wrong content types. It records every request with the SNI name the client sent.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';

export interface HttpsRoute {
  status?: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Wait this long before sending the status line and headers. */
  delayMs?: number;
  /** Answer 302 with this Location (unless `status` says another 3xx). */
  redirect?: string;
  /** Send this many bytes of filler after `body`, chunked, as fast as the client reads. */
  extraBytes?: number;
  /** Keep sending filler until the client goes away. */
  endless?: boolean;
  /** Announce this Content-Length regardless of what is sent (a lying server). */
  contentLength?: number;
}

export interface RecordedRequest {
  method: string;
  path: string;
  /** The Host header. */
  host: string | undefined;
  /** The TLS SNI name the client sent, or undefined when it sent none (IP literal). */
  servername: string | undefined;
  userAgent: string | undefined;
  remoteAddress: string | undefined;
}

export interface StartHttpsServerOptions {
  /** A 127.0.0.x address; tests give each fixture its own. */
  host?: string;
  port?: number;
  cert: string;
  key: string;
  routes: Record<string, HttpsRoute>;
}

export interface TestHttpsServer {
  host: string;
  port: number;
  requests: RecordedRequest[];
  /** TCP connections accepted so far (counted before any TLS), for "nothing was dialled" proofs. */
  connections(): number;
  close(): Promise<void>;
}

const FILLER_CHUNK = Buffer.alloc(16 * 1024, 'a');

function sendFiller(res: ServerResponse, bytes: number, endless: boolean, done: () => void): void {
  let left = bytes;
  const pump = () => {
    while (endless || left > 0) {
      if (res.destroyed || res.writableEnded) return;
      const chunk = endless || left >= FILLER_CHUNK.length ? FILLER_CHUNK : FILLER_CHUNK.subarray(0, left);
      left -= chunk.length;
      if (!res.write(chunk)) {
        res.once('drain', pump);
        return;
      }
    }
    done();
  };
  pump();
}

function respond(route: HttpsRoute | undefined, res: ServerResponse): void {
  if (!route) {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    return;
  }
  const headers: Record<string, string | number> = { 'content-type': 'text/plain', ...route.headers };
  let status = route.status ?? 200;
  if (route.redirect !== undefined) {
    status = route.status ?? 302;
    headers.location = route.redirect;
  }
  if (route.contentLength !== undefined) headers['content-length'] = route.contentLength;
  const body = route.body ?? '';
  const filler = route.extraBytes ?? 0;
  if (!route.endless && filler === 0 && route.contentLength === undefined) {
    headers['content-length'] = Buffer.byteLength(body);
  }
  res.writeHead(status, headers);
  if (body.length > 0) res.write(body);
  if (route.endless || filler > 0) sendFiller(res, filler, route.endless === true, () => res.end());
  else res.end();
}

export async function startHttpsServer(options: StartHttpsServerOptions): Promise<TestHttpsServer> {
  const host = options.host ?? '127.0.0.1';
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let connections = 0;

  const server = https.createServer({ cert: options.cert, key: options.key }, (req: IncomingMessage, res) => {
    const socket = req.socket as TLSSocket;
    const sni = (socket as TLSSocket & { servername?: string | false }).servername;
    requests.push({
      method: req.method ?? '',
      path: req.url ?? '',
      host: req.headers.host,
      servername: typeof sni === 'string' ? sni : undefined,
      userAgent: req.headers['user-agent'],
      remoteAddress: socket.remoteAddress,
    });
    const route = options.routes[new URL(req.url ?? '/', 'https://fixture.invalid').pathname];
    const go = () => {
      timers.delete(timer);
      if (!res.destroyed) respond(route, res);
    };
    const timer = setTimeout(go, route?.delayMs ?? 0);
    timers.add(timer);
  });
  server.on('connection', (socket: Socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  // Clients that give up mid-handshake are expected here; they must not crash the test process.
  server.on('tlsClientError', () => {});

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    host,
    port,
    requests,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
