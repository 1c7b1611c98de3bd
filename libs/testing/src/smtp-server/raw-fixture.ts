/**
 * Raw TCP fixtures for what `smtp-server` will not do: the hostile and the odd. A tarpit, garbage
 * instead of SMTP, a 10 MB banner (one endless line, or endless continuation lines), a reset in the
 * middle of the TLS handshake, a 421 greeting, a server that answers VRFY/EXPN with mailboxes, and
 * minimal IMAP and POP3 servers with and without STARTTLS/STLS. Every behaviour stops writing as
 * soon as the client goes away, and `close()` destroys whatever is still open.
 */
import net, { type AddressInfo, type Socket } from 'node:net';
import tls from 'node:tls';

export type Behaviour = (socket: Socket, fixture: { timers: Set<NodeJS.Timeout> }) => void;

export interface RawFixture {
  host: string;
  port: number;
  connections(): number;
  /** Command lines received by scripted behaviours, in order. */
  commands: string[];
  close(): Promise<void>;
}

export async function startRawFixture(options: {
  host: string;
  port?: number;
  behaviour: (commands: string[]) => Behaviour;
}): Promise<RawFixture> {
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const commands: string[] = [];
  const behaviour = options.behaviour(commands);
  let connections = 0;
  // No Nagle: a TLS flight written in pieces must not wait for the peer's delayed ACK.
  const server = net.createServer({ noDelay: true }, (socket) => {
    connections++;
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    behaviour(socket, { timers });
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
    connections: () => connections,
    commands,
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Accepts and says nothing at all (or one byte every `dripMs`): the client must give up. */
export function tarpit(dripMs?: number): () => Behaviour {
  return () =>
    (socket, { timers }) => {
      if (!dripMs) return;
      const text = '220 slow.fixture.test ESMTP';
      let i = 0;
      const drip = () => {
        if (socket.destroyed || i >= text.length) return;
        socket.write(text[i++] as string);
        const t = setTimeout(drip, dripMs);
        timers.add(t);
      };
      drip();
    };
}

/** Answers with something that is not SMTP. */
export function garbage(): () => Behaviour {
  return () => (socket) => {
    socket.write('HTTP/1.1 400 Bad Request\r\nContent-Type: text/html\r\n\r\n<html>\x00\xff\xfe</html>\r\n');
  };
}

/**
 * A `totalBytes` greeting: `line` sends one line without an end, `lines` sends endless valid
 * `220-` continuation lines. Written with backpressure; stops when the client hangs up.
 */
export function hugeBanner(totalBytes: number, shape: 'line' | 'lines'): () => Behaviour {
  return () => (socket) => {
    const chunk = Buffer.from(
      shape === 'line'
        ? 'x'.repeat(16 * 1024)
        : '220-filler filler filler filler filler filler\r\n'.repeat(340),
    );
    let sent = 0;
    if (shape === 'line') socket.write('220 ');
    const pump = () => {
      while (sent < totalBytes && !socket.destroyed) {
        sent += chunk.length;
        if (!socket.write(chunk)) {
          socket.once('drain', pump);
          return;
        }
      }
      if (!socket.destroyed && shape === 'lines') socket.end('220 done\r\n');
    };
    pump();
  };
}

export interface ScriptedSmtpOptions {
  name?: string;
  /** Full greeting line(s) to send instead of `220 <name> ESMTP`. */
  greeting?: string;
  /** EHLO keywords after the greeting line. */
  keywords?: string[];
  /** Replies by verb (`VRFY`, `EXPN`, `MAIL`, …): the full reply text without the final CRLF. */
  replies?: Record<string, string>;
  /** Context for STARTTLS; `resetOnClientHello` resets the TCP connection when the hello arrives. */
  tls?: tls.SecureContext;
  resetOnClientHello?: boolean;
  /** Answer STARTTLS with 220, then never answer the ClientHello (a TLS tarpit). */
  silentAfterStarttls?: boolean;
}

/** A line-by-line SMTP responder, for replies smtp-server cannot be made to give. */
export function scriptedSmtp(options: ScriptedSmtpOptions): (commands: string[]) => Behaviour {
  const name = options.name ?? 'scripted.fixture.test';
  return (commands) => (socket) => {
    socket.write(`${options.greeting ?? `220 ${name} ESMTP`}\r\n`);
    lineLoop(socket, commands, (line, io) => {
      const verb = (line.split(' ')[0] ?? '').toUpperCase();
      if (verb === 'EHLO') {
        const kw = options.keywords ?? [];
        const lines = [name, ...kw];
        io.write(lines.map((l, i) => `250${i === lines.length - 1 ? ' ' : '-'}${l}`).join('\r\n'));
      } else if (verb === 'HELO') io.write(`250 ${name}`);
      else if (verb === 'QUIT') io.end('221 2.0.0 bye');
      else if (verb === 'STARTTLS' && options.tls) {
        io.write('220 2.0.0 go ahead');
        if (options.resetOnClientHello) {
          socket.once('data', () => socket.resetAndDestroy());
          return 'stop';
        }
        if (options.silentAfterStarttls) return 'stop';
        return { upgrade: options.tls };
      } else io.write(options.replies?.[verb] ?? '502 5.5.1 not implemented');
      return undefined;
    });
  };
}

type LineAction = undefined | 'stop' | { upgrade: tls.SecureContext };
interface LineIo {
  write(text: string): void;
  end(text: string): void;
}

/** Reads CRLF lines from `socket` (and, after an upgrade, from the TLS socket over it). */
function lineLoop(
  socket: Socket,
  commands: string[],
  onLine: (line: string, io: LineIo) => LineAction,
): void {
  let stream: Socket = socket;
  let buffered = '';
  const io: LineIo = {
    write: (text) => {
      if (!stream.destroyed) stream.write(`${text}\r\n`);
    },
    end: (text) => {
      if (!stream.destroyed) stream.end(`${text}\r\n`);
    },
  };
  const onData = (chunk: Buffer) => {
    buffered += chunk.toString('latin1');
    if (buffered.length > 64 * 1024) return stream.destroy();
    for (;;) {
      const nl = buffered.indexOf('\n');
      if (nl === -1) return;
      const line = buffered.slice(0, nl).replace(/\r$/, '');
      buffered = buffered.slice(nl + 1);
      commands.push(line);
      const action = onLine(line, io);
      if (action === 'stop') {
        stream.off('data', onData);
        return;
      }
      if (action && typeof action === 'object') {
        stream.off('data', onData);
        buffered = '';
        const secure = new tls.TLSSocket(stream, { isServer: true, secureContext: action.upgrade });
        secure.on('error', () => {});
        stream = secure;
        secure.on('data', onData);
        return;
      }
    }
  };
  socket.on('data', onData);
}

/** RFC 3501 IMAP, just enough: greeting, CAPABILITY, STARTTLS, LOGOUT. */
export function imapServer(options: {
  starttls?: tls.SecureContext;
  implicit?: tls.SecureContext;
}): (commands: string[]) => Behaviour {
  return (commands) => (raw) => {
    const start = (socket: Socket, secure: boolean) => {
      socket.write('* OK [fixture] IMAP4rev1 ready\r\n');
      lineLoop(socket, commands, (line, io) => {
        const [tag = '*', verb = ''] = line.split(' ');
        switch (verb.toUpperCase()) {
          case 'CAPABILITY':
            io.write(`* CAPABILITY IMAP4rev1${options.starttls && !secure ? ' STARTTLS' : ''}`);
            io.write(`${tag} OK done`);
            return undefined;
          case 'STARTTLS':
            if (!options.starttls) {
              io.write(`${tag} BAD no`);
              return undefined;
            }
            io.write(`${tag} OK begin TLS`);
            return { upgrade: options.starttls };
          case 'LOGOUT':
            io.write('* BYE');
            io.end(`${tag} OK bye`);
            return undefined;
          default:
            io.write(`${tag} BAD unknown`);
            return undefined;
        }
      });
    };
    if (options.implicit) {
      const secure = new tls.TLSSocket(raw, { isServer: true, secureContext: options.implicit });
      secure.on('error', () => {});
      start(secure, true);
    } else start(raw, false);
  };
}

/** RFC 1939 POP3 with RFC 2449 CAPA and RFC 2595 STLS, just enough. */
export function pop3Server(options: { stls?: tls.SecureContext }): (commands: string[]) => Behaviour {
  return (commands) => (socket) => {
    socket.write('+OK fixture POP3 ready\r\n');
    lineLoop(socket, commands, (line, io) => {
      switch ((line.split(' ')[0] ?? '').toUpperCase()) {
        case 'CAPA':
          io.write(`+OK\r\nUSER\r\nUIDL${options.stls ? '\r\nSTLS' : ''}\r\n.`);
          return undefined;
        case 'STLS':
          if (!options.stls) {
            io.write('-ERR no');
            return undefined;
          }
          io.write('+OK begin TLS');
          return { upgrade: options.stls };
        case 'QUIT':
          io.end('+OK bye');
          return undefined;
        default:
          io.write('-ERR unknown');
          return undefined;
      }
    });
  };
}
