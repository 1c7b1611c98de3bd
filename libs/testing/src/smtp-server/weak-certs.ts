/**
 * Certificates the test CA does not make: a leaf signed by the test CA with SHA-1 (RFC 9155 and
 * the CA/Browser Forum retired SHA-1 signatures), for the weak-signature finding. Made with the
 * `openssl` CLI in a private temp directory, removed at exit.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { IssuedCert, TestCa } from '../tls/test-ca.ts';

const run = promisify(execFile);

export async function issueSha1Cert(ca: TestCa, names: readonly string[]): Promise<IssuedCert> {
  const dir = mkdtempSync(join(tmpdir(), 'mw-test-sha1-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'ca.pem'), ca.certPem);
  writeFileSync(join(dir, 'ca.key'), ca.keyPem, { mode: 0o600 });
  const san = names.map((n) => (/^[\d.]+$/.test(n) ? `IP:${n}` : `DNS:${n}`)).join(',');
  writeFileSync(join(dir, 'ext.cnf'), `subjectAltName=${san}\nbasicConstraints=critical,CA:FALSE\n`);
  const openssl = (args: string[]) => run('openssl', args, { cwd: dir });
  await openssl([
    'req',
    '-new',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    'leaf.key',
    '-out',
    'leaf.csr',
    '-subj',
    `/CN=${names[0] ?? 'sha1.test'}`,
  ]);
  await openssl([
    'x509',
    '-req',
    '-in',
    'leaf.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-sha1',
    '-days',
    '30',
    '-extfile',
    'ext.cnf',
    '-out',
    'leaf.pem',
  ]);
  const certPem = readFileSync(join(dir, 'leaf.pem'), 'utf8');
  return {
    certPem,
    keyPem: readFileSync(join(dir, 'leaf.key'), 'utf8'),
    chainPem: `${certPem.trimEnd()}\n${ca.certPem}`,
    names,
  };
}
