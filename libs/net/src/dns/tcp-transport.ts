/**
 * One query over TCP, used when a UDP answer came back truncated (RFC 7766 §5: TCP is a
 * required fallback). Each message is preceded by a two-byte length (RFC 1035 §4.2.2, RFC 7766
 * §8). A connection per fallback query keeps this simple; fallbacks are rare next to UDP.
 */
import net from 'node:net';
import type { DnsServerAddress } from './servers.ts';
import type { TransportOutcome } from './udp-transport.ts';
import { type ParseLimits, parseResponse } from './wire.ts';

export interface TcpExchange {
  server: DnsServerAddress;
  qname: string;
  qtype: number;
  timeoutMs: number;
  maxResponseBytes: number;
  limits: ParseLimits;
}

export function tcpExchange(x: TcpExchange, query: Buffer): Promise<TransportOutcome> {
  return new Promise<TransportOutcome>((resolve) => {
    let done = false;
    const chunks: Buffer[] = [];
    let received = 0;
    let expected = -1;
    const socket = net.connect({ host: x.server.host, port: x.server.port });
    const finish = (outcome: TransportOutcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => finish({ kind: 'timeout' }), x.timeoutMs);
    socket.setNoDelay(true);
    socket.on('connect', () => {
      const frame = Buffer.allocUnsafe(2 + query.length);
      frame.writeUInt16BE(query.length, 0);
      query.copy(frame, 2);
      socket.write(frame);
    });
    socket.on('data', (chunk) => {
      chunks.push(chunk);
      received += chunk.length;
      if (expected === -1 && received >= 2) {
        const head = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
        expected = head.readUInt16BE(0);
        // Refuse to buffer what we would refuse to parse.
        if (expected > x.maxResponseBytes) {
          return finish({ kind: 'too_large', detail: `${expected}-byte response over TCP` });
        }
      }
      if (expected === -1 || received < 2 + expected) return;
      const msg = Buffer.concat(chunks).subarray(2, 2 + expected);
      const outcome = parseResponse(msg, x.qname, x.qtype, x.limits);
      // One query per connection: anything but our answer means the server is broken.
      if (outcome.kind === 'mismatch') return finish({ kind: 'malformed', detail: `TCP: ${outcome.detail}` });
      if (outcome.kind === 'ok' && outcome.message.id !== query.readUInt16BE(0)) {
        return finish({ kind: 'malformed', detail: 'TCP response id differs' });
      }
      finish(outcome);
    });
    socket.on('error', (err) => finish({ kind: 'network', detail: err.message }));
    socket.on('close', () => finish({ kind: 'network', detail: 'TCP connection closed before the answer' }));
  });
}
