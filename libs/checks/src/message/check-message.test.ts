/**
 * The message check on messages signed and sealed in the test by mailauth, with their DNS in an
 * in-memory zone. apps/api/test/messages.test.ts and test/check-message.e2e.test.ts run the same
 * kind of messages over the loopback DNS server.
 */
import dns from 'node:dns';
import { createZoneResolver, type Zone } from '@mailwarden/testing/zone-resolver';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseDomainBlocklists } from '../blocklist/lists.ts';
import { findingDefinition } from '../catalogue.ts';
import { checkMessage, MAX_DKIM_SIGNATURES, MessageTooLargeError } from './check-message.ts';
import { arcSeal, buildMessage, createSigner, signMessage } from './message-fixtures.test-helper.ts';

const signer = createSigner('sender.test');
const forwarder = createSigner('forwarder.test', 'arc1');
const CLIENT = '192.0.2.1';

const domainLists = (() => {
  const parsed = parseDomainBlocklists(
    'dbl.test=127.0.1.2:spam domain|127.0.1.4:phish domain|127.255.255.254:!public resolver',
  );
  if (!parsed.ok) throw new Error(parsed.errors.join('; '));
  return parsed.lists;
})();

function zone(): Zone {
  return {
    'sel1._domainkey.sender.test': { TXT: [signer.keyRecord] },
    'arc1._domainkey.forwarder.test': { TXT: [forwarder.keyRecord] },
    'sender.test': { TXT: ['v=spf1 ip4:192.0.2.1 -all'] },
    '_dmarc.sender.test': { TXT: ['v=DMARC1; p=reject'] },
    'evil.example.dbl.test': { A: ['127.0.1.4'], TXT: ['Phishing, see https://dbl.test/evil.example'] },
    'refused.example.dbl.test': { A: ['127.255.255.254'] },
  };
}

const goodMessage = () =>
  buildMessage({
    from: 'alice@sender.test',
    returnPath: 'bounce@sender.test',
    text: 'Your invoice: https://portal.sender.test/invoice/1\nQuestions? help@sender.test',
    html: '<p>Your <a href="https://portal.sender.test/invoice/1">invoice</a></p>',
  });

afterEach(() => {
  vi.restoreAllMocks();
});

describe(checkMessage.name, () => {
  it('should pass a signed, SPF-authorised, DMARC-aligned message, asking only the given resolver', async () => {
    const systemResolve = vi.spyOn(dns.promises, 'resolve');
    const systemResolveTxt = vi.spyOn(dns.promises, 'resolveTxt');
    const resolver = createZoneResolver(zone());
    const report = await checkMessage(await signMessage(goodMessage(), signer), {
      resolver,
      domainLists,
      clientIp: CLIENT,
      helo: 'mail.sender.test',
    });
    expect(report.verdict).toBe('pass');
    expect(report.findings).toEqual([]);
    expect(report.authentication.spf).toMatchObject({
      result: 'pass',
      domain: 'sender.test',
      mailFrom: 'bounce@sender.test',
    });
    expect(report.envelope).toEqual({
      clientIp: CLIENT,
      helo: 'mail.sender.test',
      mailFrom: 'bounce@sender.test',
      mailFromSource: 'return-path',
    });
    expect(report.authentication.dkim).toMatchObject([
      { domain: 'sender.test', selector: 'sel1', result: 'pass', aligned: true },
    ]);
    expect(report.authentication.dmarc).toMatchObject({
      result: 'pass',
      policy: 'reject',
      dkimAligned: true,
      spfAligned: true,
    });
    expect(report.authentication.authenticationResults).toMatch(
      /^mailwarden; dkim=pass .*spf=pass .*dmarc=pass /,
    );
    expect(report.content.urls).toEqual(['https://portal.sender.test/invoice/1']);
    expect(report.blocklists?.facts.domains).toEqual(['sender.test', 'receiver.test']);
    expect(systemResolve).not.toHaveBeenCalled();
    expect(systemResolveTxt).not.toHaveBeenCalled();
    expect(resolver.calls.map((c) => `${c.type} ${c.name}`)).toEqual(
      expect.arrayContaining([
        'TXT sel1._domainkey.sender.test',
        'TXT sender.test',
        'TXT _dmarc.sender.test',
      ]),
    );
  });

  it('should fail a spoofed message: body changed after signing, sent from an address SPF refuses', async () => {
    const signed = await signMessage(goodMessage(), signer);
    const tampered = Buffer.from(signed.toString('latin1').replace('invoice/1', 'invoice/2'), 'latin1');
    const report = await checkMessage(tampered, {
      resolver: createZoneResolver(zone()),
      domainLists: [],
      clientIp: '198.51.100.9',
    });
    expect(report.verdict).toBe('fail');
    expect(report.reasons).toEqual(['message.dmarc_fail']);
    expect(report.findings.map((f) => f.code)).toEqual([
      'message.dmarc_fail',
      'message.spf_fail',
      'message.dkim_fail',
    ]);
    expect(report.findings[0]).toMatchObject({
      subject: 'sender.test',
      evidence: { result: 'fail', policy: 'reject' },
    });
    expect(report.envelope.helo).toBe('[198.51.100.9]');
    expect(findingDefinition('message.dmarc_fail')?.severity).toBe('high');
  });

  it('should leave SPF unevaluated without a client IP and rest DMARC on DKIM', async () => {
    const report = await checkMessage(await signMessage(goodMessage(), signer), {
      resolver: createZoneResolver(zone()),
      domainLists: [],
    });
    expect(report.authentication.spf).toMatchObject({
      result: 'none',
      comment: 'no client IP given: SPF not evaluated',
    });
    expect(report.authentication.dmarc).toMatchObject({
      result: 'pass',
      dkimAligned: true,
      spfAligned: false,
    });
    expect(report.verdict).toBe('pass');
    expect(report.blocklists).toBeNull();
  });

  it('should flag an unsigned message nobody authorises', async () => {
    const report = await checkMessage(buildMessage({ from: 'bob@nodmarc.test' }), {
      resolver: createZoneResolver({}),
      domainLists: [],
      clientIp: CLIENT,
    });
    expect(report.verdict).toBe('suspicious');
    expect(report.findings.map((f) => f.code)).toEqual(['message.unauthenticated']);
  });

  it('should check every URL and address domain against the domain lists: listed, unlisted and refused', async () => {
    const html = [
      '<a href="https://evil.example/login?next=1">Sign in</a>',
      // Entity-encoded scheme and host: a reader's browser decodes it, so do we.
      '<a href="&#104;ttps://www.&#114;efused.example/x">x</a>',
      '<img src="https://cdn.clean.example/p.png">',
      '<a href="http://[2001:db8::9]/x">ip</a>',
    ].join('');
    const message = await signMessage(
      buildMessage({
        from: 'alice@sender.test',
        returnPath: 'bounce@sender.test',
        text: 'see www.evil.example',
        html,
      }),
      signer,
    );
    const report = await checkMessage(message, {
      resolver: createZoneResolver(zone()),
      domainLists,
      clientIp: CLIENT,
    });
    expect(report.content.urls).toEqual(
      expect.arrayContaining([
        'https://evil.example/login?next=1',
        'https://www.refused.example/x',
        'https://cdn.clean.example/p.png',
      ]),
    );
    expect(report.content.ipHosts).toEqual([{ address: '2001:db8::9', sources: ['html'] }]);
    expect(report.verdict).toBe('fail');
    expect(report.reasons).toEqual(['blocklist.domain_listed']);
    const listed = report.findings.find((f) => f.code === 'blocklist.domain_listed');
    expect(listed).toMatchObject({
      subject: 'evil.example on dbl.test',
      evidence: {
        codes: [{ answer: '127.0.1.4', meaning: 'phish domain' }],
        reason: 'Phishing, see https://dbl.test/evil.example',
        origins: ['text', 'html'],
      },
    });
    expect(report.findings.find((f) => f.code === 'blocklist.lookup_unknown')?.evidence).toMatchObject({
      lookups: [{ subject: 'refused.example', detail: '127.255.255.254 (public resolver)' }],
    });
    expect(report.blocklists?.facts.listed).toEqual({ 'evil.example': ['dbl.test'] });
  });

  it('should verify an ARC chain, and report a broken one', async () => {
    const signed = await signMessage(goodMessage(), signer);
    const sealed = await arcSeal(signed, forwarder, 'mx.forwarder.test; dkim=pass header.d=sender.test');
    const ok = await checkMessage(sealed, {
      resolver: createZoneResolver(zone()),
      domainLists: [],
      clientIp: CLIENT,
    });
    expect(ok.authentication.arc).toEqual({ result: 'pass', instance: 1, comment: 'i=1 dkim=pass' });
    expect(ok.findings).toEqual([]);
    const broken = Buffer.from(
      sealed.toString('latin1').replace('dkim=pass header.d=sender.test', 'dkim=pass header.d=other.test'),
      'latin1',
    );
    const report = await checkMessage(broken, {
      resolver: createZoneResolver(zone()),
      domainLists: [],
      clientIp: CLIENT,
    });
    expect(report.authentication.arc.result).toBe('fail');
    expect(report.findings.map((f) => f.code)).toContain('message.arc_fail');
  });

  it('should keep a DNS failure unknown (temperror), never a failure', async () => {
    const z = zone();
    z['sel1._domainkey.sender.test'] = { unknown: 'timeout' };
    z['_dmarc.sender.test'] = { unknown: 'servfail' };
    const report = await checkMessage(await signMessage(goodMessage(), signer), {
      resolver: createZoneResolver(z),
      domainLists: [],
    });
    expect(report.authentication.dkim[0]?.result).toBe('temperror');
    expect(report.verdict).toBe('unknown');
    expect(report.findings.map((f) => f.code)).toEqual(['message.auth_unknown']);
  });

  it('should refuse a message over the size cap before reading it', async () => {
    await expect(
      checkMessage(Buffer.alloc(2048, 0x61), {
        resolver: createZoneResolver({}),
        domainLists: [],
        maxBytes: 1024,
      }),
    ).rejects.toBeInstanceOf(MessageTooLargeError);
  });

  it('should verify at most the first DKIM signatures and say what it skipped', async () => {
    let message = goodMessage();
    for (let i = 0; i < MAX_DKIM_SIGNATURES + 5; i++) message = await signMessage(message, signer);
    const resolver = createZoneResolver(zone());
    const report = await checkMessage(message, { resolver, domainLists: [], clientIp: CLIENT });
    expect(report.authentication.dkim).toHaveLength(MAX_DKIM_SIGNATURES);
    expect(report.content.truncated).toEqual(['5 DKIM signatures beyond the first 10']);
    expect(report.findings.map((f) => f.code)).toEqual(['message.not_fully_examined']);
    expect(report.verdict).toBe('pass');
  });

  it('should read hostile structure in bounded time and report what it left out', async () => {
    // 40 levels of multipart nesting, then 600 parts.
    let body = 'Content-Type: text/plain\r\n\r\nhttps://deep.example/\r\n';
    for (let depth = 0; depth < 40; depth++)
      body = `Content-Type: multipart/mixed; boundary="d${depth}"\r\n\r\n--d${depth}\r\n${body}--d${depth}--\r\n`;
    const many = Array.from(
      { length: 600 },
      (_, i) => `--m\r\nContent-Type: text/plain\r\n\r\nhttps://p${i}.example/\r\n`,
    ).join('');
    const raw = Buffer.from(
      `From: x@hostile.test\r\nContent-Type: multipart/mixed; boundary="m"\r\n\r\n--m\r\n${body}${many}--m--\r\n`,
    );
    const started = performance.now();
    const report = await checkMessage(raw, { resolver: createZoneResolver({}), domainLists: [] });
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(report.content.parts).toBe(256);
    expect(report.content.truncated).toEqual(
      expect.arrayContaining(['parts nested deeper than 16', 'parts beyond 256']),
    );
    expect(report.findings.map((f) => f.code)).toContain('message.not_fully_examined');
  });
});
