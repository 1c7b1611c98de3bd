/**
 * A private Dovecot IMAP server for tests (the report mailbox intake): its own configuration,
 * base_dir, state and Maildir in a temp directory, listening on loopback only, on free ports, with
 * implicit TLS (imaps) and STARTTLS (imap) and a certificate from the test CA. Plaintext login is
 * disabled, as on any server a tenant should use. Authentication is a passwd-file of test users;
 * with `oauth2`, SASL OAUTHBEARER (RFC 7628) and XOAUTH2 are offered too, checked by Dovecot's
 * `oauth2` passdb against an RFC 7662 introspection endpoint the test runs on loopback (see
 * `startOAuthProvider`).
 *
 * Dovecot refuses to run its login processes and mail processes as root. Run as root (CI, the
 * sandbox), logins use the packaged `dovenull` user (or `nobody`), internal processes `dovecot`,
 * and mail is owned by `nobody`; run as another user, everything runs as that user.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import net from 'node:net';
import { hostname, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { createTestCa, type IssuedCert, issueCert, type TestCa } from '../tls/index.ts';

export const DOVECOT_BIN = process.env.DOVECOT_BIN ?? '/usr/sbin/dovecot';

export interface DovecotUser {
  name: string;
  password: string;
}

export interface DovecotOptions {
  /** Loopback address to listen on. Default 127.0.0.1. */
  host?: string;
  /** Default: one user `reports` with a random password. */
  users?: DovecotUser[];
  /** Names and addresses in the certificate. Default: `imap.test`, `localhost` and the host. */
  certNames?: string[];
  /** The CA that signs the certificate. Default: the process-wide test CA. */
  ca?: TestCa;
  /**
   * Also accept OAuth 2.0 bearer tokens (AUTHENTICATE OAUTHBEARER and XOAUTH2): Dovecot POSTs
   * `token=<bearer>` to this http:// loopback URL (RFC 7662 introspection) and lets the user in
   * when the JSON answer has `"active": true` and `"username"` equal to the user name given.
   */
  oauth2?: {
    introspectionUrl: string;
    /** SASL mechanisms offered for tokens. Default both (clients prefer OAUTHBEARER). */
    mechanisms?: ('oauthbearer' | 'xoauth2')[];
  };
}

export interface TestDovecot {
  host: string;
  /** Implicit TLS (RFC 8314 §3.2), like 993. */
  imapsPort: number;
  /** Cleartext greeting with STARTTLS (RFC 9051 §6.2.1), like 143; LOGIN only after STARTTLS. */
  imapPort: number;
  users: DovecotUser[];
  /** The first user. */
  user: DovecotUser;
  ca: TestCa;
  cert: IssuedCert;
  dir: string;
  /** Dovecot's own log so far (for failing tests). */
  log(): string;
  /**
   * Puts a message into a folder the way a delivery agent does (Maildir `tmp/` then `new/`), so a
   * test needs no IMAP client. `folder` uses `/` between levels; INBOX is the Maildir root.
   */
  deliver(user: string, raw: Buffer | string, folder?: string): void;
  /** Messages in a folder (files in `new/` and `cur/`); 0 when the folder does not exist. */
  count(user: string, folder?: string): number;
  close(): Promise<void>;
}

/** True when the Dovecot binary is installed (scripts/test-peers.sh installs it). */
export function dovecotAvailable(): boolean {
  return existsSync(DOVECOT_BIN);
}

interface Identity {
  loginUser: string;
  internalUser: string;
  internalGroup: string;
  mailUid: number;
  mailGid: number;
}

function passwdEntry(name: string): { uid: number; gid: number } | undefined {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${name}:`));
  if (!line) return undefined;
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

function groupName(gid: number): string | undefined {
  const line = readFileSync('/etc/group', 'utf8')
    .split('\n')
    .find((l) => l.split(':')[2] === String(gid));
  return line?.split(':')[0];
}

function identity(): Identity {
  if (process.getuid?.() !== 0) {
    const me = userInfo();
    return {
      loginUser: me.username,
      internalUser: me.username,
      internalGroup: groupName(me.gid) ?? String(me.gid),
      mailUid: me.uid,
      mailGid: me.gid,
    };
  }
  const nobody = passwdEntry('nobody') ?? { uid: 65534, gid: 65534 };
  const login = passwdEntry('dovenull') ? 'dovenull' : 'nobody';
  const internal = passwdEntry('dovecot') ? 'dovecot' : 'nobody';
  const internalGid = passwdEntry(internal)?.gid ?? nobody.gid;
  return {
    loginUser: login,
    internalUser: internal,
    internalGroup: groupName(internalGid) ?? String(internalGid),
    mailUid: nobody.uid,
    mailGid: nobody.gid,
  };
}

async function freePort(host: string): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function config(o: {
  dir: string;
  host: string;
  imapPort: number;
  imapsPort: number;
  id: Identity;
  oauth2: string | undefined;
}): string {
  const { dir, id } = o;
  // The oauth2 passdb answers only the OAuth mechanisms, the passwd-file only PLAIN and LOGIN.
  const oauth2 = o.oauth2
    ? `passdb {
  driver = oauth2
  mechanisms = ${o.oauth2}
  args = ${dir}/dovecot-oauth2.conf.ext
}
`
    : '';
  return `# Written by libs/testing dovecot-server.ts for one test process.
instance_name = mailwarden-test-${randomBytes(4).toString('hex')}
base_dir = ${dir}/run
state_dir = ${dir}/state
log_path = ${dir}/dovecot.log
protocols = imap
listen = ${o.host}
shutdown_clients = yes
default_login_user = ${id.loginUser}
default_internal_user = ${id.internalUser}
default_internal_group = ${id.internalGroup}
first_valid_uid = 1
first_valid_gid = 1
mail_uid = ${id.mailUid}
mail_gid = ${id.mailGid}
mail_location = maildir:${dir}/mail/%u
ssl = yes
ssl_cert = <${dir}/cert.pem
ssl_key = <${dir}/key.pem
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = yes
auth_mechanisms = plain login${o.oauth2 ? ` ${o.oauth2}` : ''}
# Tests poll with wrong passwords on purpose; no penalty delay.
auth_failure_delay = 0
passdb {
  driver = passwd-file
  mechanisms = plain login
  args = scheme=PLAIN ${dir}/passwd
}
${oauth2}userdb {
  driver = static
  args = uid=${id.mailUid} gid=${id.mailGid} home=${dir}/mail/%u
}
service imap-login {
  chroot =
  inet_listener imap {
    address = ${o.host}
    port = ${o.imapPort}
  }
  inet_listener imaps {
    address = ${o.host}
    port = ${o.imapsPort}
    ssl = yes
  }
}
service anvil {
  chroot =
  # No growing delay after failed logins from one address (tests fail logins on purpose).
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
`;
}

/** Maildir++ folder directory: INBOX is the root, `A/B` is `.A.B`. */
function folderDir(dir: string, user: string, folder = 'INBOX'): string {
  const root = join(dir, 'mail', user);
  return folder.toUpperCase() === 'INBOX' ? root : join(root, `.${folder.split('/').join('.')}`);
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Starts Dovecot and resolves once both listeners accept connections. */
export async function startDovecot(options: DovecotOptions = {}): Promise<TestDovecot> {
  if (!dovecotAvailable())
    throw new Error(`Dovecot is not installed (${DOVECOT_BIN}); see scripts/test-peers.sh`);
  const host = options.host ?? '127.0.0.1';
  const users = options.users ?? [
    { name: 'reports', password: `pw-${randomBytes(9).toString('base64url')}` },
  ];
  const ca = options.ca ?? (await createTestCa());
  const cert = await issueCert(ca, { names: options.certNames ?? ['imap.test', 'localhost', host] });
  const id = identity();

  const dir = mkdtempSync(join(tmpdir(), 'mw-dovecot-'));
  // Login processes run as another user and must reach base_dir inside this directory.
  chmodSync(dir, 0o755);
  mkdirSync(join(dir, 'state'));
  mkdirSync(join(dir, 'mail'));
  if (process.getuid?.() === 0) chownSync(join(dir, 'mail'), id.mailUid, id.mailGid);
  writeFileSync(join(dir, 'cert.pem'), cert.chainPem);
  writeFileSync(join(dir, 'key.pem'), cert.keyPem, { mode: 0o600 });
  // passwd-file: user:password:uid:gid:gecos:home:shell:extra (uid/gid/home come from the userdb).
  writeFileSync(join(dir, 'passwd'), users.map((u) => `${u.name}:{PLAIN}${u.password}::::::\n`).join(''), {
    mode: 0o600,
  });
  if (options.oauth2) {
    // Every token is introspected (no tokeninfo step), and only an active one for this user passes.
    writeFileSync(
      join(dir, 'dovecot-oauth2.conf.ext'),
      [
        'introspection_mode = post',
        `introspection_url = ${options.oauth2.introspectionUrl}`,
        'force_introspection = yes',
        'username_attribute = username',
        'active_attribute = active',
        'active_value = true',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
  }
  // The auth process reads them as the internal user.
  if (process.getuid?.() === 0) {
    const internal = passwdEntry(id.internalUser);
    for (const file of ['passwd', ...(options.oauth2 ? ['dovecot-oauth2.conf.ext'] : [])])
      if (internal) chownSync(join(dir, file), internal.uid, internal.gid);
  }

  const oauth2Mechanisms = options.oauth2
    ? (options.oauth2.mechanisms ?? ['oauthbearer', 'xoauth2']).join(' ')
    : undefined;
  let child: ChildProcess | undefined;
  let imapPort = 0;
  let imapsPort = 0;
  const logOf = () => {
    try {
      return readFileSync(join(dir, 'dovecot.log'), 'utf8');
    } catch {
      return '';
    }
  };
  // A free port can be taken by someone else between probing and binding; try a few times.
  for (let attempt = 0; attempt < 3 && !child; attempt++) {
    imapPort = await freePort(host);
    imapsPort = await freePort(host);
    writeFileSync(
      join(dir, 'dovecot.conf'),
      config({ dir, host, imapPort, imapsPort, id, oauth2: oauth2Mechanisms }),
    );
    const started = spawn(DOVECOT_BIN, ['-F', '-c', join(dir, 'dovecot.conf')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    started.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const deadline = Date.now() + 10_000;
    let ready = false;
    while (Date.now() < deadline && started.exitCode === null) {
      if ((await accepts(host, imapPort)) && (await accepts(host, imapsPort))) {
        ready = true;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    if (ready) {
      child = started;
      break;
    }
    await stopChild(started);
    if (attempt === 2) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`Dovecot did not start: ${stderr}\n${logOf()}`);
    }
  }
  const server = child!;
  running.add(server);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // A test process that dies without close() leaves no Dovecot behind.
    process.once('exit', () => {
      for (const c of running) c.kill('SIGKILL');
    });
  }

  return {
    host,
    imapsPort,
    imapPort,
    users,
    user: users[0]!,
    ca,
    cert,
    dir,
    log: logOf,
    deliver(user, raw, folder = 'INBOX') {
      const root = folderDir(dir, user, folder);
      for (const sub of ['cur', 'new', 'tmp']) mkdirSync(join(root, sub), { recursive: true });
      const name = `${Date.now()}.M${randomBytes(6).toString('hex')}P${process.pid}.${hostname()}`;
      const tmp = join(root, 'tmp', name);
      writeFileSync(tmp, raw);
      if (process.getuid?.() === 0) {
        for (const path of [
          join(dir, 'mail', user),
          root,
          ...['cur', 'new', 'tmp'].map((s) => join(root, s)),
          tmp,
        ])
          chownSync(path, id.mailUid, id.mailGid);
      }
      renameSync(tmp, join(root, 'new', name));
    },
    count(user, folder = 'INBOX') {
      const root = folderDir(dir, user, folder);
      let n = 0;
      for (const sub of ['cur', 'new']) {
        const path = join(root, sub);
        if (existsSync(path)) n += readdirSync(path).length;
      }
      return n;
    },
    async close() {
      running.delete(server);
      await stopChild(server);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
