/**
 * The report parser thread: the same prepared events as a parse in this thread, a thread reused
 * for the next input only after a clean end (all events, or a parse error), and replaced after a
 * deadline or a consumer that stopped half-way; bytes handed over without a copy.
 */
import { gzipSync } from 'node:zlib';
import { readPreparedReports } from '@mailwarden/monitoring';
import type { PreparedReportEvent } from '@mailwarden/monitoring/report-rows';
import { isReportParseError } from '@mailwarden/reports';
import { afterEach, describe, expect, it } from 'vitest';
import { type ThreadReader, threadParser } from './report-thread.ts';

function reportXml(records: number, reportId: string): string {
  const rows = Array.from(
    { length: records },
    (_, i) =>
      `<record><row><source_ip>192.0.2.${(i % 250) + 1}</source_ip><count>${i + 1}</count><policy_evaluated><disposition>none</disposition><dkim>pass</dkim><spf>fail</spf><reason><type>other</type><comment>tab\there "${i}"</comment></reason></policy_evaluated></row><identifiers><header_from>example.com</header_from></identifiers><auth_results><dkim><domain>example.com</domain><result>pass</result><selector>s${i % 3}</selector></dkim></auth_results></record>`,
  );
  return `<feedback><report_metadata><org_name>Example Receiver</org_name><report_id>${reportId}</report_id><date_range><begin>1795737600</begin><end>1796083200</end></date_range></report_metadata><policy_published><domain>example.com</domain><p>none</p></policy_published>${rows.join('')}</feedback>`;
}

/** The bytes in a buffer of their own, as ingest hands them over. */
function owned(data: Uint8Array): Uint8Array {
  const copy = new Uint8Array(new ArrayBuffer(data.length));
  copy.set(data);
  return copy;
}

/** Events with their row bytes as text, comparable with toEqual. */
async function collect(events: AsyncIterable<PreparedReportEvent>) {
  const out: unknown[] = [];
  for await (const event of events)
    out.push(
      event.type === 'aggregate-rows' ? { ...event, data: Buffer.from(event.data).toString() } : event,
    );
  return out;
}

let reader: ThreadReader | undefined;
afterEach(async () => {
  await reader?.close();
  reader = undefined;
});

describe('threadParser', () => {
  it('should give what a parse in this thread gives, and take the bytes over without a copy', async () => {
    reader = threadParser({ maxHeapMb: 64, timeoutMs: 30_000, window: 2 });
    const gz = gzipSync(reportXml(2_500, 'same-1'));
    const bytes = owned(gz);
    const inThread = await collect(reader(bytes, {}));
    expect(bytes.byteLength).toBe(0);
    expect(inThread).toEqual(await collect(readPreparedReports(gz, {})));
    expect(inThread.filter((e) => (e as { type: string }).type === 'aggregate-rows').length).toBeGreaterThan(
      1,
    );
  });

  it('should reuse a thread after a clean end and after a parse error', async () => {
    reader = threadParser({ maxHeapMb: 64, timeoutMs: 30_000 });
    const first = await collect(reader(owned(Buffer.from(reportXml(10, 'reuse-1'))), {}));
    const error = await collect(
      reader(owned(Buffer.from('<?xml version="1.0"?><!DOCTYPE x><feedback/>')), {}),
    ).catch((err: unknown) => err);
    expect(isReportParseError(error) && error.code).toBe('report.doctype_forbidden');
    const again = await collect(reader(owned(Buffer.from(reportXml(10, 'reuse-1'))), {}));
    expect(again).toEqual(first);
    expect(reader.threadsStarted).toBe(1);
  });

  it('should replace a thread that ran out of time', async () => {
    reader = threadParser({ maxHeapMb: 64, timeoutMs: 2_000, window: 1 });
    const slow = async () => {
      for await (const _ of reader!(owned(gzipSync(reportXml(20_000, 'slow-1'))), {}))
        await new Promise((resolve) => setTimeout(resolve, 400));
    };
    await expect(slow()).rejects.toMatchObject({ code: 'report.deadline_exceeded' });
    expect(reader.threadsStarted).toBe(1);
    // A new thread, which starts up within the deadline and is then reused.
    for (let i = 0; i < 2; i++) {
      const whole = await collect(reader(owned(Buffer.from(reportXml(10, 'after-1'))), {}));
      expect(whole.at(-1)).toMatchObject({ type: 'aggregate-end', stats: { recordCount: 10 } });
    }
    expect(reader.threadsStarted).toBe(2);
  });

  it('should replace a thread whose consumer stopped reading half-way', async () => {
    reader = threadParser({ maxHeapMb: 64, timeoutMs: 30_000, window: 1 });
    for await (const event of reader(owned(Buffer.from(reportXml(3_000, 'partial-1'))), {}))
      if (event.type === 'aggregate-rows') break;
    const whole = await collect(reader(owned(Buffer.from(reportXml(10, 'after-2'))), {}));
    expect(whole.at(-1)).toMatchObject({ type: 'aggregate-end', stats: { recordCount: 10 } });
    expect(reader.threadsStarted).toBe(2);
  });
});
