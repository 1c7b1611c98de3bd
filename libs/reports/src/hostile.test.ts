/**
 * Hostile inputs, generated here: each is refused with its precise code (or bounded), and none is
 * read further than the limit that stops it. Timing is the benchmark's business, not asserted.
 */
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  isReportParseError,
  parseReports,
  type ReadReportsOptions,
  type ReportErrorCode,
  type ReportInput,
} from './index.ts';
import { buildZip, googleReportHead, googleReportPieces } from './test-kit.ts';

async function refusal(
  input: ReportInput,
  options: ReadReportsOptions = {},
): Promise<{ code: ReportErrorCode; message: string }> {
  try {
    await parseReports(input, options);
  } catch (err) {
    if (isReportParseError(err)) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error('the input was accepted');
}

const head = googleReportHead({ records: 1 });
const goodXml = [...googleReportPieces({ records: 3 })].join('');

describe('hostile report input', () => {
  it('should refuse XXE (an external entity) at the DOCTYPE', async () => {
    const xxe = `<?xml version="1.0"?>\n<!DOCTYPE feedback [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n<feedback><report_metadata><org_name>&xxe;</org_name></report_metadata></feedback>`;
    const { code, message } = await refusal(Buffer.from(xxe));
    expect(code).toBe('report.doctype_forbidden');
    expect(message).toMatch(/line 2/);
  });

  it('should refuse billion laughs at the DOCTYPE', async () => {
    const entities = Array.from({ length: 10 }, (_, i) =>
      i === 0 ? '<!ENTITY lol0 "lol">' : `<!ENTITY lol${i} "${`&lol${i - 1};`.repeat(10)}">`,
    ).join('');
    const laughs = `<?xml version="1.0"?><!DOCTYPE lolz [${entities}]><feedback>&lol9;</feedback>`;
    expect((await refusal(Buffer.from(laughs))).code).toBe('report.doctype_forbidden');
  });

  it('should refuse an entity reference without a DOCTYPE as malformed', async () => {
    const text = goodXml.replace('<org_name>google.com', '<org_name>&secret;');
    expect((await refusal(Buffer.from(text))).code).toBe('report.malformed_xml');
  });

  it('should refuse 500 000 empty records squeezed into under 1 MB of gzip as a zip bomb', async () => {
    const xml = `${head}${'<record></record>\n'.repeat(500_000)}</feedback>`;
    const gz = gzipSync(xml, { level: 9 });
    expect(gz.length).toBeLessThan(1024 * 1024);
    const { code, message } = await refusal(gz);
    expect(code).toBe('report.zip_bomb');
    expect(message).toMatch(/ratio limit 200/);
  });

  it('should bound 500 000 empty records that compress like real data: none kept, all counted', async () => {
    // Random whitespace keeps the ratio realistic, so the ratio check cannot catch it.
    let seed = 7;
    const noise = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return ' '.repeat(seed % 13);
    };
    const parts = [head];
    for (let i = 0; i < 500_000; i++) parts.push(`<record>${noise()}</record>${noise()}\n`);
    parts.push('</feedback>');
    const gz = gzipSync(parts.join(''), { level: 9 });
    expect(gz.length).toBeLessThan(1024 * 1024);
    const [report] = await parseReports(gz);
    expect(report?.type).toBe('aggregate');
    if (report?.type !== 'aggregate') return;
    expect(report.report.records).toHaveLength(0);
    expect(report.report.stats.skippedRecords).toBe(500_000);
  });

  it('should refuse a zip of 1 000 entries before inflating any', async () => {
    const entries = Array.from({ length: 1000 }, (_, i) => ({
      name: `r${i}.xml`,
      data: Buffer.from(goodXml),
    }));
    const { code, message } = await refusal(buildZip(entries));
    expect(code).toBe('report.too_many_entries');
    expect(message).toMatch(/1000 entries; at most 16/);
  });

  it('should refuse a 200 MB single record by the record bound, reading only a little of it', async () => {
    const filler = Buffer.alloc(1024 * 1024, 'A');
    let pulled = 0;
    async function* huge(): AsyncGenerator<Uint8Array> {
      const start = Buffer.from(`${head}  <record>\n    <row>\n      <source_ip>`);
      pulled += start.length;
      yield start;
      for (let i = 0; i < 200; i++) {
        pulled += filler.length;
        yield filler;
      }
      yield Buffer.from('</source_ip></row></record></feedback>');
    }
    const { code, message } = await refusal(huge());
    expect(code).toBe('report.too_large');
    expect(message).toMatch(/characters/);
    expect(pulled).toBeLessThan(3 * 1024 * 1024);
  });

  it('should refuse a record made long by many small elements', async () => {
    const record = `<record><row><source_ip>192.0.2.1</source_ip><count>1</count></row>${'<x>y</x>'.repeat(20_000)}</record>`;
    const { code, message } = await refusal(Buffer.from(`${head}${record}</feedback>`));
    expect(code).toBe('report.too_large');
    expect(message).toMatch(/record 1 is longer than 65536/);
  });

  it('should refuse truncated gzip precisely, in the deflate data and in the trailer', async () => {
    const gz = gzipSync(Buffer.from([...googleReportPieces({ records: 200 })].join('')));
    const inData = await refusal(gz.subarray(0, Math.floor(gz.length / 2)));
    expect(inData.code).toBe('report.truncated_gzip');
    expect(inData.message).toMatch(/deflate stream stops/);
    const inTrailer = await refusal(gz.subarray(0, gz.length - 3));
    expect(inTrailer.code).toBe('report.truncated_gzip');
    expect(inTrailer.message).toMatch(/trailer is missing/);
    expect((await refusal(gz.subarray(0, 6))).code).toBe('report.truncated_gzip');
  });

  it('should refuse a damaged gzip (bad CRC) as corrupt', async () => {
    const gz = Buffer.from(gzipSync(Buffer.from(goodXml)));
    gz.writeUInt32LE((gz.readUInt32LE(gz.length - 8) ^ 1) >>> 0, gz.length - 8);
    const { code, message } = await refusal(gz);
    expect(code).toBe('report.corrupt_archive');
    expect(message).toMatch(/CRC-32/);
  });

  it('should refuse archives inside archives', async () => {
    const inZip = buildZip([{ name: 'report.xml.gz', data: gzipSync(goodXml) }]);
    expect((await refusal(inZip)).code).toBe('report.nested_archive');
    const zipInGzip = gzipSync(buildZip([{ name: 'report.xml', data: Buffer.from(goodXml) }]));
    expect((await refusal(zipInGzip)).code).toBe('report.nested_archive');
  });

  it('should refuse zip bombs by declared ratio and, when sizes lie, by actual output', async () => {
    const zeros = Buffer.alloc(64 * 1024 * 1024);
    const honest = await refusal(buildZip([{ name: 'bomb.xml', data: zeros }]));
    expect(honest.code).toBe('report.zip_bomb');
    expect(honest.message).toMatch(/declares 67108864 bytes/);
    // Zeros are not a report and are dropped after the first bytes; a bomb must look like XML.
    const tags = Buffer.from(`${head}${'<x/>'.repeat(16 * 1024 * 1024)}</feedback>`);
    const liar = await refusal(buildZip([{ name: 'bomb.xml', data: tags, declaredSize: 1000 }]));
    expect(liar.code).toBe('report.zip_bomb');
    expect(liar.message).toMatch(/expanded past/);
    const gzipBomb = await refusal(gzipSync(tags));
    expect(gzipBomb.code).toBe('report.zip_bomb');
  });

  it('should refuse deep nesting, long text and too many records', async () => {
    const deep = `${head}${'<x>'.repeat(100)}${'</x>'.repeat(100)}</feedback>`;
    expect((await refusal(Buffer.from(deep))).code).toBe('report.too_deep');
    const longOrg = goodXml.replace('<org_name>google.com', `<org_name>${'g'.repeat(100_000)}`);
    expect((await refusal(Buffer.from(longOrg))).code).toBe('report.too_large');
    const many = [...googleReportPieces({ records: 50 })].join('');
    const limited = await refusal(Buffer.from(many), { limits: { maxRecords: 10 } });
    expect(limited.code).toBe('report.too_many_records');
  });

  it('should stop at the deadline', async () => {
    let clock = 0;
    const now = () => {
      clock += 1000;
      return clock;
    };
    const big = gzipSync([...googleReportPieces({ records: 2000 })].join(''));
    const { code } = await refusal(big, { now, limits: { deadlineMs: 5000 } });
    expect(code).toBe('report.deadline_exceeded');
  });

  it('should bound buffered input and the MIME tree', async () => {
    const gz = gzipSync([...googleReportPieces({ records: 2000 })].join(''));
    expect((await refusal(gz, { limits: { maxInputBytes: 1000 } })).code).toBe('report.too_large');
    const parts = Array.from({ length: 200 }, () => '--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n').join(
      '',
    );
    const message = `From: a@example.com\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n${parts}--b--\r\n`;
    expect((await refusal(Buffer.from(message))).code).toBe('report.too_many_entries');
  });
});
