/**
 * BullMQ's rule for custom job ids (guide/jobs/job-ids.md): `:` separates the parts of Redis keys,
 * and integer ids belong to BullMQ's own counter, so a custom id that looks like one could collide
 * with an automatically numbered job. We refuse every all-digit id (also "007", which BullMQ would
 * let through) so that the rule is simple to state and to follow.
 */
export const maxJobIdLength = 256;

export class InvalidJobIdError extends Error {
  readonly jobId: string;
  constructor(jobId: string, reason: string) {
    super(`invalid job id ${JSON.stringify(jobId.slice(0, 80))}: ${reason}`);
    this.name = 'InvalidJobIdError';
    this.jobId = jobId;
  }
}

/** Returns the reason the id is refused, or undefined when it is acceptable. */
export function jobIdProblem(jobId: string): string | undefined {
  if (jobId.length === 0) return 'must not be empty';
  if (jobId.length > maxJobIdLength) return `must be at most ${maxJobIdLength} characters`;
  if (jobId.includes(':')) return 'must not contain ":"';
  if (/^-?\d+$/.test(jobId)) return 'must not be an integer';
  if (/\s/.test(jobId)) return 'must not contain whitespace';
  return undefined;
}

/** Throws `InvalidJobIdError` unless the id follows the rule above. */
export function validateJobId(jobId: string): string {
  const problem = jobIdProblem(jobId);
  if (problem !== undefined) throw new InvalidJobIdError(jobId, problem);
  return jobId;
}
