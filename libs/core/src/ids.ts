import { randomFillSync } from 'node:crypto';

// Random bytes are drawn from the CSPRNG 256 ids at a time (as crypto.randomUUID caches its own):
// one call into it per id cost more than the rest of the id, and a check run stores a dozen rows.
const randomPool = Buffer.alloc(2560);
let poolOffset = randomPool.length;
const HEX_BYTE = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

/**
 * Ids are UUIDv7 (RFC 9562 §5.7) in the database — time-ordered, so B-tree inserts stay local —
 * and travel in the API as typed ids: `dom_` + the 26-character Crockford base32 of the 128 bits
 * (the TypeID layout). A typed id tells a reader and a log line what it names, and an id of the
 * wrong kind is refused before it reaches a query.
 */
export function uuidv7(nowMs: number = Date.now()): string {
  if (poolOffset + 10 > randomPool.length) {
    randomFillSync(randomPool);
    poolOffset = 0;
  }
  const r = poolOffset;
  poolOffset += 10;
  // 48-bit big-endian Unix milliseconds.
  const time = Math.trunc(nowMs).toString(16).padStart(12, '0').slice(-12);
  return (
    `${time.slice(0, 8)}-${time.slice(8)}-` +
    // version 7, then 12 random bits; variant 10, then 62 random bits.
    `${HEX_BYTE[(randomPool[r]! & 0x0f) | 0x70]}${HEX_BYTE[randomPool[r + 1]!]}-` +
    `${HEX_BYTE[(randomPool[r + 2]! & 0x3f) | 0x80]}${HEX_BYTE[randomPool[r + 3]!]}-` +
    `${HEX_BYTE[randomPool[r + 4]!]}${HEX_BYTE[randomPool[r + 5]!]}${HEX_BYTE[randomPool[r + 6]!]}` +
    `${HEX_BYTE[randomPool[r + 7]!]}${HEX_BYTE[randomPool[r + 8]!]}${HEX_BYTE[randomPool[r + 9]!]}`
  );
}

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
const DECODE = new Map([...ALPHABET].map((ch, i) => [ch, i]));
const HEX_VALUE = Array.from(
  { length: 128 },
  (_, code) => Number.parseInt(String.fromCharCode(code), 16) || 0,
);
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export const idPrefixes = [
  'ten',
  'usr',
  'mem',
  'dom',
  'key',
  'ses',
  'run',
  'fnd',
  'evt',
  'whk',
  'dlv',
  'rpt',
  'inv',
  'aud',
  'mnt',
  'att',
  'frp',
  'mbx',
] as const;
export type IdPrefix = (typeof idPrefixes)[number];

/** `encodeId('dom', uuid)` → `dom_01h455vb4pex5vsknk084sn02q`. */
export function encodeId(prefix: IdPrefix, uuid: string): string {
  if (!UUID_RE.test(uuid)) throw new Error(`not a uuid: ${uuid}`);
  const hex = uuid.replaceAll('-', '');
  // The 128 bits, read as a 130-bit number with two leading zero bits, in 26 groups of five.
  // Plain integer arithmetic (no BigInt, no Buffer): list routes encode hundreds of ids per response.
  let out = '';
  for (let digit = 0; digit < 26; digit++) {
    let value = 0;
    for (let bit = digit * 5 - 2; bit < digit * 5 + 3; bit++) {
      value = (value << 1) | (bit < 0 ? 0 : (HEX_VALUE[hex.charCodeAt(bit >> 2)]! >> (3 - (bit & 3))) & 1);
    }
    out += ALPHABET[value];
  }
  return `${prefix}_${out}`;
}

/** The uuid inside a typed id, or undefined when the text is not an id of that kind. */
export function decodeId(prefix: IdPrefix, text: string): string | undefined {
  if (text.length !== prefix.length + 27 || !text.startsWith(`${prefix}_`)) return undefined;
  const body = text.slice(prefix.length + 1);
  // 26 base32 digits hold 130 bits; the first digit may only carry the top 3 of 128.
  if ((DECODE.get(body[0]!) ?? 8) > 7) return undefined;
  let value = 0n;
  for (const ch of body) {
    const digit = DECODE.get(ch);
    if (digit === undefined) return undefined;
    value = (value << 5n) | BigInt(digit);
  }
  const hex = value.toString(16).padStart(32, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function newId(prefix: IdPrefix): { uuid: string; id: string } {
  const uuid = uuidv7();
  return { uuid, id: encodeId(prefix, uuid) };
}
