/**
 * Shared by the report benchmarks: generated Google-shaped aggregate reports (gzip, on disk, so no
 * process has to hold the XML), the parse ceiling (a plain saxes tokenise of the same bytes), and
 * a peak-RSS sampler for the process a measurement runs in.
 */
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { TextDecoder } from 'node:util';
import { createGunzip, createGzip } from 'node:zlib';
import { SaxesParser } from 'saxes';
import { googleReportPieces } from '../libs/reports/src/test-kit.ts';

/** Writes a gzipped report of `records` records; the same seed gives the same leading records. */
export async function generateGoogleReport(file: string, records: number, seed = 42): Promise<void> {
  await pipeline(
    googleReportPieces({ records, reportId: `bench-${seed}-${records}` }, seed),
    createGzip({ level: 6 }),
    createWriteStream(file),
  );
}

/** The ceiling: the same bytes gunzipped, decoded and tokenised by saxes, nothing built. */
export async function tokeniseOnce(gz: Buffer): Promise<{ records: number; xmlBytes: number }> {
  const parser = new SaxesParser({ xmlns: false, position: true });
  let records = 0;
  let xmlBytes = 0;
  parser.on('opentag', (tag) => {
    if (tag.name === 'record') records++;
  });
  parser.on('closetag', () => {});
  parser.on('text', () => {});
  const decoder = new TextDecoder('utf-8');
  const gunzip = createGunzip({ chunkSize: 64 * 1024 });
  gunzip.end(gz);
  for await (const chunk of gunzip as AsyncIterable<Buffer>) {
    xmlBytes += chunk.length;
    parser.write(decoder.decode(chunk, { stream: true }));
  }
  parser.close();
  return { records, xmlBytes };
}

/**
 * Samples this process's resident set (threads included) every few milliseconds: `peakMB` is the
 * highest seen since `start`, which `resourceUsage().maxRSS` cannot give once module loading has
 * set a higher mark.
 */
export function rssSampler(intervalMs = 10) {
  let peak = 0;
  let timer: NodeJS.Timeout | undefined;
  const sample = () => {
    peak = Math.max(peak, process.memoryUsage.rss());
  };
  return {
    start() {
      peak = process.memoryUsage.rss();
      timer = setInterval(sample, intervalMs);
    },
    stop(): { peakMB: number; endMB: number } {
      clearInterval(timer);
      sample();
      return { peakMB: peak / 1048576, endMB: process.memoryUsage.rss() / 1048576 };
    },
  };
}
