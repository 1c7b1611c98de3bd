import { queueNames } from './queue-names.ts';

/**
 * The typed contract between producers and processors: for each queue, the union of the jobs it
 * carries as `{ name, payload }`. Payloads hold ids and small values, never secrets — Redis stores
 * them in clear text and they show up in dashboards.
 */

/** Upper bound on `echo.delayMs`, so a bad request cannot pin a worker slot for long. */
export const maxEchoDelayMs = 60_000;
/** Upper bound on `echo.message`, so the job stays a small Redis value. */
export const maxEchoMessageLength = 1_000;

export interface EchoPayload {
  message: string;
  /** How long the processor waits before answering; 0..maxEchoDelayMs. */
  delayMs?: number;
}

export type SystemJob = { name: 'echo'; payload: EchoPayload };

export type QueueJobTypes = {
  [queueNames.system]: SystemJob;
};

export type JobNameOf<Q extends keyof QueueJobTypes> = QueueJobTypes[Q]['name'];

export type PayloadOf<Q extends keyof QueueJobTypes, N extends JobNameOf<Q>> = Extract<
  QueueJobTypes[Q],
  { name: N }
>['payload'];

/**
 * Job data read back from Redis is untrusted input: it may come from an older producer or a hand
 * edit. Returns the payload or a list of problems, so the processor can fail the job for good.
 */
export function parseEchoPayload(
  data: unknown,
): { ok: true; payload: EchoPayload } | { ok: false; problems: string[] } {
  const problems: string[] = [];
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    return { ok: false, problems: ['payload must be an object'] };
  }
  const { message, delayMs } = data as Record<string, unknown>;
  if (typeof message !== 'string') problems.push('message must be a string');
  else if (message.length > maxEchoMessageLength)
    problems.push(`message must be at most ${maxEchoMessageLength} characters`);
  if (
    delayMs !== undefined &&
    (!Number.isInteger(delayMs) || (delayMs as number) < 0 || (delayMs as number) > maxEchoDelayMs)
  )
    problems.push(`delayMs must be an integer between 0 and ${maxEchoDelayMs}`);
  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    payload:
      delayMs === undefined
        ? { message: message as string }
        : { message: message as string, delayMs: delayMs as number },
  };
}
