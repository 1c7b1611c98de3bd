/**
 * The postfix-mta-sts-resolver test matrix (../shared/corpus/mta-sts/snawoot-postfix-mta-sts-resolver),
 * read as it is: `_mta-sts` TXT records from dnsmasq.conf.appendix, policy responses from the
 * `return <status> "<body>"` lines and `types` overrides of nginx.conf, expected verdicts from
 * refdata.tsv. Servers whose body comes from Lua (the over-length ones) are fetched as
 * `too_large`, which is what our capped fetcher returns for them; the bad-cert servers (whose
 * certificates the matrix breaks in its setup scripts) as a TLS error. A domain counts as "OK" when a sender would enforce a policy for it: valid record, policy
 * fetched and valid, mode enforce (refdata_strict also enforces testing).
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { corpusPath } from '@mailwarden/testing/corpus';
import { createZoneResolver, type Zone } from '@mailwarden/testing/zone-resolver';
import { describe, expect, it } from 'vitest';
import { analyseMtaSts, type PolicyFetchResult } from './analyse-mta-sts.ts';

const DIR = corpusPath('mta-sts', 'snawoot-postfix-mta-sts-resolver');
const read = (file: string) => readFileSync(join(DIR, file), 'utf8');

function zoneFromDnsmasq(text: string): Zone {
  const zone: Zone = {};
  for (const m of text.matchAll(/^txt-record=([^,]+),"(.*)"$/gm)) {
    const name = m[1] as string;
    zone[name] = { TXT: [...((zone[name]?.TXT as string[]) ?? []), m[2] as string] };
  }
  for (const m of text.matchAll(/^address=\/([^/]+)\/(\S+)$/gm)) {
    const name = m[1] as string;
    zone[name] = { ...zone[name], A: [m[2] as string] };
  }
  return zone;
}

function responsesFromNginx(text: string): Map<string, PolicyFetchResult> {
  const out = new Map<string, PolicyFetchResult>();
  for (const block of text.split(/\n\s*server \{/).slice(1)) {
    const host = /server_name (\S+);/.exec(block)?.[1];
    if (!host) continue;
    const wellKnown = block.slice(block.indexOf('location = /.well-known/mta-sts.txt'));
    const ret = /return (\d+) "((?:[^"\\]|\\.)*)";/.exec(wellKnown.slice(0, wellKnown.indexOf('location /')));
    // The matrix makes these certificates bad in its setup scripts; the name is all nginx.conf shows.
    if (host.includes('bad-cert')) {
      out.set(host, { status: 'error', reason: 'tls_error', code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
    } else if (ret) {
      const contentType = /types \{\s*(\S+) txt;/.exec(wellKnown)?.[1] ?? 'text/plain';
      out.set(host, {
        status: 'ok',
        httpStatus: Number(ret[1]),
        contentType,
        body: (ret[2] as string).replace(/\\n/g, '\n'),
      });
    } else if (wellKnown.includes('content_by_lua_block')) {
      out.set(host, { status: 'error', reason: 'too_large', detail: 'body exceeds 65536 bytes' });
    }
  }
  return out;
}

const zone = zoneFromDnsmasq(read('dnsmasq.conf.appendix'));
const responses = responsesFromNginx(read('nginx.conf'));

async function analyse(domain: string) {
  return analyseMtaSts({
    domain,
    resolver: createZoneResolver(zone),
    fetchPolicy: async (url) =>
      responses.get(new URL(url).hostname) ?? { status: 'error', reason: 'connection_refused' },
    mxHosts: ['mail.loc'],
  });
}

/** Would a sender enforce (strict: or test) a policy for this domain? */
function enforceable(r: Awaited<ReturnType<typeof analyse>>, strict: boolean): boolean {
  const fatal = new Set([
    'mta_sts.missing',
    'mta_sts.multiple_records',
    'mta_sts.txt_syntax_error',
    'mta_sts.policy_fetch_failed',
    'mta_sts.policy_redirect',
    'mta_sts.policy_content_type',
    'mta_sts.policy_syntax_error',
    'mta_sts.lookup_unknown',
  ]);
  const mode = r.facts.policy?.mode;
  return !r.findings.some((f) => fatal.has(f.code)) && (mode === 'enforce' || (strict && mode === 'testing'));
}

/** Plain domain lines of refdata (`test good.loc`); socketmap syntax (`[x]`, `:port`, `.x`) is Postfix's, not ours. */
function refdata(file: string): [string, boolean][] {
  return read(file)
    .split('\n')
    .map((l) => /^test2? (\S+)\t(OK|NOTFOUND)/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null && !/[[\]:]|^\./.test(m[1] as string))
    .map((m) => [m[1] as string, m[2] === 'OK']);
}

describe('snawoot/postfix-mta-sts-resolver matrix', () => {
  it('reads the fixtures', () => {
    expect(responses.size).toBeGreaterThanOrEqual(15);
    expect(refdata('refdata.tsv').length).toBeGreaterThanOrEqual(10);
  });

  for (const [file, strict] of [
    ['refdata.tsv', false],
    ['refdata_strict.tsv', true],
  ] as const) {
    it.each(refdata(file))(`${file}: %s -> OK=%s`, async (domain, want) => {
      expect(enforceable(await analyse(domain), strict)).toBe(want);
    });
  }

  // The matrix serves no policy for the bad-record domains; we fetch anyway (the record shows
  // intent), so they also get policy_fetch_failed.
  it.each([
    ['good.loc', []],
    ['no-record.loc', ['mta_sts.missing']],
    ['no-data.loc', ['mta_sts.missing']],
    ['bad-record1.loc', ['mta_sts.txt_syntax_error', 'mta_sts.policy_fetch_failed']],
    ['bad-record2.loc', ['mta_sts.txt_syntax_error', 'mta_sts.policy_fetch_failed']],
    ['bad-record3.loc', ['mta_sts.txt_syntax_error', 'mta_sts.policy_fetch_failed']],
    ['bad-policy1.loc', ['mta_sts.policy_syntax_error']],
    ['bad-policy2.loc', ['mta_sts.policy_syntax_error']],
    ['bad-policy3.loc', ['mta_sts.policy_content_type']],
    ['bad-policy4.loc', ['mta_sts.policy_fetch_failed']],
    ['bad-policy5.loc', ['mta_sts.policy_syntax_error']],
    ['bad-policy6.loc', ['mta_sts.max_age_too_long']],
    ['bad-policy7.loc', ['mta_sts.policy_syntax_error']],
    ['bad-policy8.loc', ['mta_sts.policy_syntax_error']],
    ['bad-cert1.loc', ['mta_sts.policy_fetch_failed']],
    ['valid-none.loc', ['mta_sts.mode_none']],
    ['testing.loc', ['mta_sts.mode_testing']],
    ['fast-expire.loc', ['mta_sts.max_age_too_short']],
    ['static-overlength.loc', ['mta_sts.policy_fetch_failed']],
    ['chunked-overlength.loc', ['mta_sts.policy_fetch_failed']],
  ])('%s -> %j', async (domain, codes) => {
    expect((await analyse(domain)).findings.map((f) => f.code)).toEqual(codes);
  });
});
