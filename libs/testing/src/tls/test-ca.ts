/**
 * A test certificate authority and leaf certificates for loopback TLS fixtures (HTTPS for MTA-STS
 * and BIMI, STARTTLS for SMTP). Made with the `openssl` CLI in a private temp directory:
 * `openssl ca` is used for leaves because it is the only openssl 3.0 command that sets arbitrary
 * notBefore/notAfter dates, which expired and not-yet-valid certificates need.
 *
 * The default CA is made once per process and shared; issued certificates are cached per set of
 * options, so a test file pays for each distinct certificate once.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export type KeyType = 'ec-p256' | 'rsa-2048' | 'rsa-1024' | 'ed25519';

export interface TestCa {
  name: string;
  certPem: string;
  keyPem: string;
  /** Private directory holding the CA files; removed when the process exits. */
  dir: string;
}

export interface IssueOptions {
  /** DNS names and IP addresses for subjectAltName; the first one is also the subject CN. */
  names: readonly string[];
  notBefore?: Date;
  notAfter?: Date;
  keyType?: KeyType;
}

export interface IssuedCert {
  certPem: string;
  keyPem: string;
  /** The leaf followed by the issuing CA, as a server sends it. */
  chainPem: string;
  names: readonly string[];
}

const DAY_MS = 86_400_000;
const DEFAULT_VALIDITY_DAYS = 30;
/** Leaves start an hour in the past so clock skew between processes cannot make them "not yet valid". */
const BACKDATE_MS = 3_600_000;
/** The CA starts a day in the past and lasts ten years. */
const CA_BACKDATE_MS = DAY_MS;
const CA_VALIDITY_DAYS = 3650;

const dirs: string[] = [];
let cleanupRegistered = false;

function privateDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  if (!cleanupRegistered) {
    cleanupRegistered = true;
    process.once('exit', () => {
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    });
  }
  return dir;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await run('openssl', args, { cwd });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`openssl ${args[0]} failed: ${e.stderr ?? e.message}`);
  }
}

function newKeyArgs(keyType: KeyType): string[] {
  switch (keyType) {
    case 'ec-p256':
      return ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'];
    case 'rsa-2048':
      return ['-newkey', 'rsa:2048'];
    case 'rsa-1024':
      return ['-newkey', 'rsa:1024'];
    case 'ed25519':
      return ['-newkey', 'ed25519'];
  }
}

/** `IP:` for addresses, `DNS:` for names. */
function sanList(names: readonly string[]): string {
  return names.map((n) => (/^[\d.]+$/.test(n) || n.includes(':') ? `IP:${n}` : `DNS:${n}`)).join(',');
}

/** openssl wants YYYYMMDDHHMMSSZ (GeneralizedTime) or YYMMDDHHMMSSZ. */
function asn1Time(d: Date): string {
  return `${d.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
}

function subjectName(n: string): string {
  return `/CN=${n.replace(/[/\\=]/g, '_')}`;
}

/** The CA, like its leaves, starts in the past: a test that read the clock before the CA was made must still see it valid. */
async function makeCa(name: string): Promise<TestCa> {
  const dir = privateDir('mw-test-ca-');
  const notBefore = new Date(Date.now() - CA_BACKDATE_MS);
  const notAfter = new Date(notBefore.getTime() + CA_VALIDITY_DAYS * DAY_MS);
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'serial'), `01${randomBytes(8).toString('hex')}\n`);
  writeFileSync(
    join(dir, 'ca.cnf'),
    [
      '[ca]',
      'default_ca = test_ca',
      '[test_ca]',
      `dir = ${dir}`,
      'database = $dir/index.txt',
      'new_certs_dir = $dir',
      'serial = $dir/serial',
      'default_md = sha256',
      'policy = policy_any',
      'unique_subject = no',
      'email_in_dn = no',
      '[policy_any]',
      'commonName = supplied',
      '[root]',
      'basicConstraints = critical,CA:TRUE',
      'keyUsage = critical,keyCertSign,cRLSign',
      'subjectKeyIdentifier = hash',
      '',
    ].join('\n'),
  );
  await openssl(
    [
      'req',
      '-new',
      ...newKeyArgs('ec-p256'),
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.csr',
      '-subj',
      subjectName(name),
    ],
    dir,
  );
  // `openssl ca -selfsign` is the openssl 3.0 way to give a self-signed certificate a start date.
  await openssl(
    [
      'ca',
      '-batch',
      '-notext',
      '-selfsign',
      '-config',
      'ca.cnf',
      '-keyfile',
      'ca.key',
      '-extensions',
      'root',
      '-in',
      'ca.csr',
      '-out',
      'ca.pem',
      '-startdate',
      asn1Time(notBefore),
      '-enddate',
      asn1Time(notAfter),
    ],
    dir,
  );
  return {
    name,
    dir,
    certPem: readFileSync(join(dir, 'ca.pem'), 'utf8'),
    keyPem: readFileSync(join(dir, 'ca.key'), 'utf8'),
  };
}

let defaultCa: Promise<TestCa> | undefined;

/**
 * The process-wide test CA, or with `{ fresh: true }` another, unrelated CA (for "signed by a CA
 * the client does not trust").
 */
export function createTestCa(options: { fresh?: boolean; name?: string } = {}): Promise<TestCa> {
  const name = options.name ?? `Mailwarden Test CA ${randomBytes(4).toString('hex')}`;
  if (options.fresh) return makeCa(name);
  defaultCa ??= makeCa(name);
  return defaultCa;
}

const issued = new Map<string, Promise<IssuedCert>>();

function validity(options: IssueOptions): { notBefore: Date; notAfter: Date } {
  const notBefore = options.notBefore ?? new Date(Date.now() - BACKDATE_MS);
  const notAfter = options.notAfter ?? new Date(notBefore.getTime() + DEFAULT_VALIDITY_DAYS * DAY_MS);
  return { notBefore, notAfter };
}

async function issue(ca: TestCa, options: IssueOptions): Promise<IssuedCert> {
  if (options.names.length === 0) throw new Error('issueCert needs at least one name');
  const { notBefore, notAfter } = validity(options);
  // Each leaf gets its own openssl-ca database, so concurrent issues cannot race on index/serial.
  const dir = privateDir('mw-test-leaf-');
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'serial'), `01${randomBytes(8).toString('hex')}\n`);
  writeFileSync(join(dir, 'ca.pem'), ca.certPem);
  writeFileSync(join(dir, 'ca.key'), ca.keyPem, { mode: 0o600 });
  writeFileSync(
    join(dir, 'ca.cnf'),
    [
      '[ca]',
      'default_ca = test_ca',
      '[test_ca]',
      `dir = ${dir}`,
      'database = $dir/index.txt',
      'new_certs_dir = $dir',
      'serial = $dir/serial',
      'certificate = $dir/ca.pem',
      'private_key = $dir/ca.key',
      'default_md = sha256',
      'policy = policy_any',
      'unique_subject = no',
      'email_in_dn = no',
      '[policy_any]',
      'commonName = supplied',
      '[leaf]',
      'basicConstraints = critical,CA:FALSE',
      'keyUsage = critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage = serverAuth',
      `subjectAltName = ${sanList(options.names)}`,
      'subjectKeyIdentifier = hash',
      'authorityKeyIdentifier = keyid',
      '',
    ].join('\n'),
  );
  const keyType = options.keyType ?? 'ec-p256';
  await openssl(
    [
      'req',
      '-new',
      ...newKeyArgs(keyType),
      '-nodes',
      '-keyout',
      'leaf.key',
      '-out',
      'leaf.csr',
      '-subj',
      subjectName(options.names[0] as string),
    ],
    dir,
  );
  await openssl(
    [
      'ca',
      '-batch',
      '-notext',
      '-config',
      'ca.cnf',
      '-extensions',
      'leaf',
      '-in',
      'leaf.csr',
      '-out',
      'leaf.pem',
      '-startdate',
      asn1Time(notBefore),
      '-enddate',
      asn1Time(notAfter),
    ],
    dir,
  );
  const certPem = readFileSync(join(dir, 'leaf.pem'), 'utf8');
  return {
    certPem,
    keyPem: readFileSync(join(dir, 'leaf.key'), 'utf8'),
    chainPem: `${certPem.trimEnd()}\n${ca.certPem}`,
    names: options.names,
  };
}

/** A leaf certificate signed by `ca`. Cached per CA and options. */
export function issueCert(ca: TestCa, options: IssueOptions): Promise<IssuedCert> {
  const key = JSON.stringify([ca.dir, options.names, options.notBefore, options.notAfter, options.keyType]);
  let p = issued.get(key);
  if (!p) {
    p = issue(ca, options);
    issued.set(key, p);
  }
  return p;
}

/** A self-signed leaf (no CA at all): what a server shows when nobody set up a real certificate. */
export async function issueSelfSignedCert(
  options: Omit<IssueOptions, 'notBefore' | 'notAfter'>,
): Promise<IssuedCert> {
  const dir = privateDir('mw-test-self-');
  const name = options.names[0];
  if (!name) throw new Error('issueSelfSignedCert needs at least one name');
  await openssl(
    [
      'req',
      '-x509',
      '-new',
      ...newKeyArgs(options.keyType ?? 'ec-p256'),
      '-nodes',
      '-keyout',
      'self.key',
      '-out',
      'self.pem',
      '-days',
      String(DEFAULT_VALIDITY_DAYS),
      '-subj',
      subjectName(name),
      '-addext',
      `subjectAltName=${sanList(options.names)}`,
      '-addext',
      'basicConstraints=critical,CA:FALSE',
    ],
    dir,
  );
  const certPem = readFileSync(join(dir, 'self.pem'), 'utf8');
  return {
    certPem,
    keyPem: readFileSync(join(dir, 'self.key'), 'utf8'),
    chainPem: certPem,
    names: options.names,
  };
}
