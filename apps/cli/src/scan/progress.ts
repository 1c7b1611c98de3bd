/**
 * The bulk-mode progress bar: one line on stderr, redrawn in place at most every 100 ms, and only
 * when stderr is a terminal (a redirected stderr gets nothing, so logs stay clean).
 */
const REDRAW_EVERY_MS = 100;
const BAR_CELLS = 24;

export interface Progress {
  tick(done: number): void;
  finish(): void;
}

export function progressBar(
  stream: NodeJS.WriteStream,
  total: number,
  now = () => performance.now(),
): Progress {
  if (!stream.isTTY) return { tick() {}, finish() {} };
  const started = now();
  let lastDraw = Number.NEGATIVE_INFINITY;
  const draw = (done: number) => {
    const elapsedS = Math.max(0.001, (now() - started) / 1000);
    const rate = done / elapsedS;
    const filled = total === 0 ? BAR_CELLS : Math.round((done / total) * BAR_CELLS);
    const eta = rate > 0 ? Math.ceil((total - done) / rate) : 0;
    const bar = `${'█'.repeat(filled)}${'░'.repeat(BAR_CELLS - filled)}`;
    stream.write(`\r\x1b[K${bar} ${done}/${total}  ${rate.toFixed(0)}/s  ETA ${eta}s`);
  };
  return {
    tick(done) {
      const t = now();
      if (t - lastDraw < REDRAW_EVERY_MS && done < total) return;
      lastDraw = t;
      draw(done);
    },
    finish() {
      stream.write('\r\x1b[K');
    },
  };
}
