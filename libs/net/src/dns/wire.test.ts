import dnsPacket from 'dns-packet';
import { describe, expect, it } from 'vitest';
import { encodeQuery, parseResponse, TYPE_CODES } from './wire.ts';

const limits = { maxAnswerRecords: 10 };

describe('query encoding', () => {
  it.each([
    ['example.com', 'MX', false, false],
    ['_dmarc.example.com', 'TXT', true, false],
    ['a.b.c.d.example', 'DNSKEY', true, true],
    ['.', 'NS', false, true],
  ] as const)(
    '%s %s (DO %s, CD %s) is byte-equal to dns-packet',
    (name, type, dnssecOk, checkingDisabled) => {
      const ours = encodeQuery(0xbeef, name, TYPE_CODES[type], {
        dnssecOk,
        checkingDisabled,
        udpPayloadSize: 1232,
      });
      const reference = dnsPacket.encode({
        type: 'query',
        id: 0xbeef,
        flags: dnsPacket.RECURSION_DESIRED | (checkingDisabled ? dnsPacket.CHECKING_DISABLED : 0),
        questions: [{ type, name: name === '.' ? '' : name, class: 'IN' }],
        additionals: [
          {
            type: 'OPT',
            name: '.',
            udpPayloadSize: 1232,
            flags: dnssecOk ? dnsPacket.DNSSEC_OK : 0,
          } as dnsPacket.Answer,
        ],
      });
      expect(ours).toEqual(reference);
    },
  );
});

describe('framed query encoding', () => {
  it('prefixes the two-byte length for TCP (RFC 1035 §4.2.2)', () => {
    const flags = { dnssecOk: true, checkingDisabled: false, udpPayloadSize: 1232 };
    const plain = encodeQuery(7, 'example.com', TYPE_CODES.A, flags);
    const framed = encodeQuery(7, 'example.com', TYPE_CODES.A, flags, true);
    expect(framed.readUInt16BE(0)).toBe(plain.length);
    expect(framed.subarray(2)).toEqual(plain);
  });
});

describe('response matching', () => {
  const answer = (over: Partial<dnsPacket.Packet> = {}) =>
    dnsPacket.encode({
      type: 'response',
      id: 1,
      flags: dnsPacket.RECURSION_DESIRED,
      questions: [{ type: 'A', name: 'Example.COM', class: 'IN' }],
      answers: [{ type: 'A', name: 'example.com', ttl: 60, data: '192.0.2.1' }],
      ...over,
    });

  it('matches the question case-insensitively and reads the records', () => {
    const outcome = parseResponse(answer(), 'example.com', TYPE_CODES.A, limits);
    expect(outcome).toMatchObject({
      kind: 'ok',
      message: { rcode: 0, answer: [{ name: 'example.com', ttl: 60 }] },
    });
  });

  it('calls a different question, type, or a query (QR=0) a mismatch, not an answer', () => {
    expect(parseResponse(answer(), 'example.org', TYPE_CODES.A, limits).kind).toBe('mismatch');
    expect(parseResponse(answer(), 'example.com', TYPE_CODES.MX, limits).kind).toBe('mismatch');
    expect(parseResponse(answer({ type: 'query' }), 'example.com', TYPE_CODES.A, limits).kind).toBe(
      'mismatch',
    );
  });

  it('accepts an error without a question (some servers send FORMERR so), which can only be unknown', () => {
    const formerr = dnsPacket.encode({ type: 'response', id: 1, flags: 1, questions: [] });
    expect(parseResponse(formerr, 'example.com', TYPE_CODES.A, limits)).toMatchObject({
      kind: 'ok',
      message: { rcode: 1, answer: [] },
    });
  });

  it('treats a TTL with the top bit set as zero (RFC 2181 §8) and caps the answer count', () => {
    const buf = answer();
    buf.writeUInt32BE(0x80000001, buf.length - 10);
    expect(parseResponse(buf, 'example.com', TYPE_CODES.A, limits)).toMatchObject({
      message: { answer: [{ ttl: 0 }] },
    });
    expect(parseResponse(answer(), 'example.com', TYPE_CODES.A, { maxAnswerRecords: 0 }).kind).toBe(
      'too_large',
    );
  });

  it('does not take one label containing a dot for two labels', () => {
    const buf = dnsPacket.encode({ type: 'response', id: 1, questions: [{ type: 'A', name: 'ab' }] });
    buf[13] = 0x2e; // the single label "ab" becomes "." + "b": one label, bytes ".b"
    expect(parseResponse(buf, '.b', TYPE_CODES.A, limits).kind).toBe('mismatch');
  });

  it('reads owner names that point at the question, or repeat it in another case', () => {
    const buf = answer({ answers: [{ type: 'A', name: 'EXAMPLE.com', ttl: 5, data: '192.0.2.9' }] });
    expect(parseResponse(buf, 'example.com', TYPE_CODES.A, limits)).toMatchObject({
      message: { answer: [{ name: 'example.com', ttl: 5 }] },
    });
    const other = answer({ answers: [{ type: 'A', name: 'example.co', ttl: 5, data: '192.0.2.9' }] });
    expect(parseResponse(other, 'example.com', TYPE_CODES.A, limits)).toMatchObject({
      message: { answer: [{ name: 'example.co' }] },
    });
  });
});
