/**
 * The COPY text encoder: the escapes of Postgres' text format, JSON string literals inside it,
 * and the repair of what no Postgres text may hold (U+0000, unpaired surrogates → U+FFFD). The
 * round trip goes through the real server: COPY into a temporary table, read back.
 */

import { once } from 'node:events';
import { openTestDatabase } from '@mailwarden/testing/db';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COPY_NULL, copyField, jsonString, storableText } from './copy-text.ts';

let pool: pg.Pool;
beforeAll(() => {
  ({ pool } = openTestDatabase());
});
afterAll(async () => {
  await pool?.end();
});

const HOSTILE = [
  'plain',
  '',
  'tab\there',
  'line\nfeed',
  'carriage\rreturn\r\n',
  'back\\slash',
  '\\N',
  '\\.',
  'trailing backslash\\',
  '\\t literally',
  'quote " and \' and `',
  '{"json": [1, 2]}',
  'ünïcödé ✓ 日本 𝔘',
  '\u0001\u001f control',
  '\u2028\u2029 separators',
];

/** COPYs `lines` (one text and one jsonb column) into a fresh temporary table and reads it back. */
async function roundTrip(lines: string[]): Promise<{ t: string | null; j: unknown }[]> {
  const client = await pool.connect();
  try {
    await client.query('begin');
    await client.query('create temp table copy_text_check (n int, t text, j jsonb) on commit drop');
    const stream = client.query(copyFrom('copy copy_text_check (n, t, j) from stdin'));
    stream.end(lines.join(''));
    await once(stream, 'finish');
    const { rows } = await client.query<{ t: string | null; j: unknown }>(
      'select t, j from copy_text_check order by n',
    );
    return rows;
  } finally {
    await client.query('rollback');
    client.release();
  }
}

describe('copyField', () => {
  it('should escape exactly the characters of the COPY text format', () => {
    expect(copyField('a\tb\nc\rd\\e')).toBe('a\\tb\\nc\\rd\\\\e');
    expect(copyField('\\N')).toBe('\\\\N');
    expect(copyField(null)).toBe(COPY_NULL);
    const same = 'nothing to escape: "quotes", ✓';
    expect(copyField(same)).toBe(same);
  });

  it('should turn NUL and unpaired surrogates into U+FFFD rather than fail the report', () => {
    expect(copyField('a\u0000b')).toBe('a\ufffdb');
    expect(copyField('x\ud800y\udc00')).toBe('x\ufffdy\ufffd');
    expect(copyField('pair 𝔘 kept')).toBe('pair 𝔘 kept');
    expect(storableText('\u0000\\')).toBe('\ufffd\\');
  });
});

describe('jsonString', () => {
  it('should give a JSON literal whose backslashes survive COPY', () => {
    expect(jsonString(null)).toBe('null');
    expect(jsonString('simple')).toBe('"simple"');
    expect(jsonString('a"b')).toBe('"a\\\\"b"');
    expect(jsonString('tab\t')).toBe('"tab\\\\t"');
    expect(jsonString('nul\u0000')).toBe('"nul\ufffd"');
  });
});

describe('COPY text through Postgres', () => {
  it('should store hostile strings as they were, in text and in jsonb', async () => {
    const lines = HOSTILE.map(
      (value, n) => `${n}\t${copyField(value)}\t{"v":${jsonString(value)},"n":null}\n`,
    );
    const rows = await roundTrip(lines);
    expect(rows.map((r) => r.t)).toEqual(HOSTILE);
    expect(rows.map((r) => r.j)).toEqual(HOSTILE.map((v) => ({ v, n: null })));
  });

  it('should store NUL and unpaired surrogates as U+FFFD, and null as NULL', async () => {
    const lines = ['a\u0000b', 'lone \ud83d high', null].map(
      (value, n) => `${n}\t${copyField(value)}\t[${jsonString(value)}]\n`,
    );
    expect(await roundTrip(lines)).toEqual([
      { t: 'a\ufffdb', j: ['a\ufffdb'] },
      { t: 'lone \ufffd high', j: ['lone \ufffd high'] },
      { t: null, j: [null] },
    ]);
  });

  it('should show why the repair is needed: Postgres refuses NUL in COPY text', async () => {
    await expect(roundTrip(['0\ta\u0000b\t[]\n'])).rejects.toThrow(/0x00|null character/i);
  });
});
