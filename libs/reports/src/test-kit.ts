/**
 * Test-only builders: zip archives (APPNOTE 6.3, stored or deflated) and Google-shaped aggregate
 * XML, so tests and the benchmark make hostile and large inputs without fixtures on disk.
 */
import { crc32, deflateRawSync } from 'node:zlib';

export interface ZipInput {
  name: string;
  data: Uint8Array;
  /** Deflate (default) or store. */
  store?: boolean;
  /** Lie about the uncompressed size in both headers. */
  declaredSize?: number;
}

export function buildZip(entries: readonly ZipInput[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const name = Buffer.from(entry.name, 'utf8');
    const body = entry.store ? Buffer.from(entry.data) : deflateRawSync(entry.data);
    const crc = crc32(entry.data);
    const size = entry.declaredSize ?? entry.data.length;
    const method = entry.store ? 0 : 8;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, body);
    centrals.push(central, name);
    offset += local.length + name.length + body.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Math.min(entries.length, 0xffff), 8);
  end.writeUInt16LE(Math.min(entries.length, 0xffff), 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

export interface GoogleReportShape {
  records: number;
  reportId?: string;
  domain?: string;
  begin?: number;
  end?: number;
}

export function googleReportHead(shape: GoogleReportShape): string {
  const domain = shape.domain ?? 'example.com';
  return `<?xml version="1.0" encoding="UTF-8" ?>
<feedback>
  <report_metadata>
    <org_name>google.com</org_name>
    <email>noreply-dmarc-support@google.com</email>
    <extra_contact_info>https://support.google.com/a/answer/2466580</extra_contact_info>
    <report_id>${shape.reportId ?? '13488712042596170873'}</report_id>
    <date_range>
      <begin>${shape.begin ?? 1633996800}</begin>
      <end>${shape.end ?? 1634083199}</end>
    </date_range>
  </report_metadata>
  <policy_published>
    <domain>${domain}</domain>
    <adkim>r</adkim>
    <aspf>r</aspf>
    <p>quarantine</p>
    <sp>quarantine</sp>
    <pct>100</pct>
  </policy_published>
`;
}

export const GOOGLE_REPORT_TAIL = '</feedback>\n';

/** Deterministic pseudo-random stream (xorshift32), so generated reports are reproducible. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 0x100000000;
  };
}

/** One record as Google writes them; sources, counts and results vary like a real day's. */
export function googleRecord(index: number, random: () => number, domain = 'example.com'): string {
  const v6 = random() < 0.2;
  const ip = v6
    ? `2a00:1450:${Math.floor(random() * 0xffff).toString(16)}:${Math.floor(random() * 0xffff).toString(16)}::${(index & 0xfff).toString(16)}`
    : `${Math.floor(random() * 223) + 1}.${Math.floor(random() * 256)}.${Math.floor(random() * 256)}.${Math.floor(random() * 256)}`;
  const count = 1 + Math.floor(random() ** 3 * 500);
  const dkimPass = random() < 0.8;
  const spfPass = random() < 0.7;
  const disposition = dkimPass || spfPass ? 'none' : random() < 0.5 ? 'quarantine' : 'none';
  const selector = ['google', 's1', 'selector1', `k${index % 50}`][index % 4];
  const signer = dkimPass ? domain : `mail${index % 97}.example.net`;
  const envelope = spfPass ? domain : `bounce${index % 89}.example.org`;
  return `  <record>
    <row>
      <source_ip>${ip}</source_ip>
      <count>${count}</count>
      <policy_evaluated>
        <disposition>${disposition}</disposition>
        <dkim>${dkimPass ? 'pass' : 'fail'}</dkim>
        <spf>${spfPass ? 'pass' : 'fail'}</spf>
      </policy_evaluated>
    </row>
    <identifiers>
      <header_from>${domain}</header_from>
    </identifiers>
    <auth_results>
      <dkim>
        <domain>${signer}</domain>
        <result>${dkimPass ? 'pass' : 'fail'}</result>
        <selector>${selector}</selector>
      </dkim>
      <spf>
        <domain>${envelope}</domain>
        <result>${spfPass ? 'pass' : 'softfail'}</result>
      </spf>
    </auth_results>
  </record>
`;
}

/** A whole Google-shaped report as text, in pieces of about `pieceRecords` records. */
export function* googleReportPieces(
  shape: GoogleReportShape,
  seed = 1,
  pieceRecords = 1000,
): Generator<string> {
  const random = seededRandom(seed);
  yield googleReportHead(shape);
  let piece = '';
  for (let i = 0; i < shape.records; i++) {
    piece += googleRecord(i, random, shape.domain);
    if ((i + 1) % pieceRecords === 0) {
      yield piece;
      piece = '';
    }
  }
  yield `${piece}${GOOGLE_REPORT_TAIL}`;
}
