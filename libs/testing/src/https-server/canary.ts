/**
 * A loopback canary: a TCP listener on a 127.0.0.x address that records every connection made to
 * it and closes it at once. SSRF tests point a name at a canary and assert it saw nothing — the
 * proof that a refused target was never dialled — or exactly one connection when it was allowed.
 */
import net, { type AddressInfo } from 'node:net';

export interface Canary {
  host: string;
  port: number;
  /** Remote addresses of the connections seen, in order. */
  seen: string[];
  close(): Promise<void>;
}

export async function startCanary(options: { host: string; port?: number }): Promise<Canary> {
  const seen: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    seen.push(socket.remoteAddress ?? '?');
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    socket.end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    host: options.host,
    port: (server.address() as AddressInfo).port,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
