/**
 * Loopback SMTP servers for MX probe tests, built on `smtp-server` (the nodemailer project's):
 * a real ESMTP implementation with STARTTLS, so the probe meets what production MTAs send. Each
 * fixture listens on its own 127.0.0.x address and records what clients did: connections, the SNI
 * names asked for, and every MAIL FROM / RCPT TO / DATA (the probe must send none of them unless
 * the relay test was asked for, and never DATA).
 */
import type { AddressInfo, Server, Socket } from 'node:net';
import tls from 'node:tls';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';

export interface SmtpFixtureOptions {
  /** A 127.0.0.x address; tests give each fixture its own. */
  host: string;
  port?: number;
  /** Host name in the greeting and EHLO answer. */
  name?: string;
  /** Text after `ESMTP` in the greeting (e.g. a software version). */
  banner?: string;
  /** Certificate and key for STARTTLS (or implicit TLS). Without it, STARTTLS is not offered. */
  tls?: { cert: string; key: string };
  /** Offer STARTTLS (default: when `tls` is given). */
  starttls?: boolean;
  /** Speak TLS from the first byte (submissions, port 465). */
  implicitTls?: boolean;
  minVersion?: tls.SecureVersion;
  maxVersion?: tls.SecureVersion;
  /** OpenSSL cipher string; `@SECLEVEL=0` is added so weak keys and old versions can be served. */
  ciphers?: string;
  /** Advertise AUTH PLAIN LOGIN (also before STARTTLS, as smtp-server does). */
  auth?: boolean;
  /** Accept RCPT TO any domain. Otherwise only `localDomains` are accepted. */
  openRelay?: boolean;
  localDomains?: readonly string[];
  /** Delay before the greeting, ms (a slow but honest server). */
  greetingDelayMs?: number;
}

export interface TestSmtpServer {
  host: string;
  port: number;
  /** TCP connections accepted so far. */
  connections(): number;
  /** SNI names sent by clients, in order (undefined: none sent). */
  servernames: (string | undefined)[];
  mailFrom: string[];
  rcptTo: string[];
  dataCommands: number;
  close(): Promise<void>;
}

export async function startSmtpFixture(options: SmtpFixtureOptions): Promise<TestSmtpServer> {
  const servernames: (string | undefined)[] = [];
  const mailFrom: string[] = [];
  const rcptTo: string[] = [];
  const sockets = new Set<Socket>();
  let connections = 0;
  let dataCommands = 0;
  const offerTls = options.tls !== undefined && (options.starttls ?? true);
  const tlsOptions = {
    ...(options.tls ? { key: options.tls.key, cert: options.tls.cert } : {}),
    minVersion: options.minVersion ?? 'TLSv1.2',
    ...(options.maxVersion ? { maxVersion: options.maxVersion } : {}),
    ciphers: `${options.ciphers ?? tls.DEFAULT_CIPHERS}:@SECLEVEL=0`,
  };
  const context = options.tls ? tls.createSecureContext(tlsOptions) : undefined;
  const local = new Set((options.localDomains ?? []).map((d) => d.toLowerCase()));

  const serverOptions: SMTPServerOptions = {
    ...tlsOptions,
    secure: options.implicitTls === true,
    name: options.name ?? 'mx.fixture.test',
    ...(options.banner ? { banner: options.banner } : {}),
    logger: false,
    // smtp-server would ask the system resolver for the client's PTR; tests never use it.
    disableReverseLookup: true,
    hideSTARTTLS: !offerTls,
    disabledCommands: [
      ...(offerTls || options.implicitTls ? [] : ['STARTTLS']),
      ...(options.auth ? [] : ['AUTH']),
    ],
    authMethods: options.auth ? ['PLAIN', 'LOGIN'] : [],
    authOptional: true,
    allowInsecureAuth: options.auth === true,
    socketTimeout: 30_000,
    closeTimeout: 100,
    SNICallback: (servername: string, cb: (err: Error | null, ctx?: tls.SecureContext) => void) => {
      servernames.push(servername || undefined);
      cb(null, context);
    },
    onConnect(_session, callback) {
      if (options.greetingDelayMs) setTimeout(() => callback(), options.greetingDelayMs);
      else callback();
    },
    onAuth(_auth, _session, callback) {
      callback(new Error('no accounts on a fixture'));
    },
    onMailFrom(address, _session, callback) {
      mailFrom.push(address.address);
      callback();
    },
    onRcptTo(address, _session, callback) {
      rcptTo.push(address.address);
      const domain = address.address.split('@').pop()?.toLowerCase() ?? '';
      if (options.openRelay || local.has(domain)) return callback();
      const err = new Error('5.7.1 Relay access denied') as Error & { responseCode: number };
      err.responseCode = 554;
      callback(err);
    },
    onData(stream, _session, callback) {
      dataCommands++;
      stream.resume();
      stream.on('end', () => callback());
    },
  };
  const server = new SMTPServer(serverOptions);
  // Probes that hang up mid-dialogue are expected; they must not fail the test process.
  server.on('error', () => {});
  const netServer = (server as unknown as { server: Server }).server;
  netServer.on('connection', (socket: Socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    netServer.once('error', reject);
    server.listen(options.port ?? 0, options.host, () => {
      netServer.off('error', reject);
      resolve();
    });
  });
  const port = (netServer.address() as AddressInfo).port;
  const fixture: TestSmtpServer = {
    host: options.host,
    port,
    connections: () => connections,
    servernames,
    mailFrom,
    rcptTo,
    get dataCommands() {
      return dataCommands;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  return fixture;
}
