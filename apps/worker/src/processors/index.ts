import type { Clock } from '@mailwarden/core';
import { queueNames } from '@mailwarden/queue';
import { createEchoProcessor } from './echo.processor.ts';
import type { ProcessorMap } from './processor.ts';

export type { JobContext, JobProcessor, ProcessorMap } from './processor.ts';

/** Registers one processor per queue and job name; add new job kinds here. */
export function createProcessors(deps: { clock: Clock }): ProcessorMap {
  return {
    [queueNames.system]: { echo: createEchoProcessor(deps) },
  };
}
