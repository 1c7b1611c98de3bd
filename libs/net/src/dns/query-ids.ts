import { randomFillSync } from 'node:crypto';

/**
 * Unpredictable 16-bit DNS message ids (RFC 5452 §4.3: ids an off-path attacker cannot guess),
 * drawn from the CSPRNG in batches so a query costs no system call for its id.
 */
export class QueryIdSource {
  private readonly pool: Uint16Array;
  private next: number;

  constructor(batch = 4096) {
    this.pool = new Uint16Array(batch);
    this.next = batch;
  }

  take(): number {
    if (this.next === this.pool.length) {
      randomFillSync(this.pool);
      this.next = 0;
    }
    return this.pool[this.next++] as number;
  }
}
