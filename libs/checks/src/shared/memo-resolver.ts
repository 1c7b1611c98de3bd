/**
 * Wraps a Resolver so that one check run asks each (name, type) once, however many of its steps
 * need the answer (the DMARC RFC 7489 discovery and the RFC 9989 tree walk share most names). The
 * process-wide TTL cache lives in libs/net; this only removes repeats inside one run, so a check
 * costs the same number of queries whether or not the injected resolver caches.
 */
import type { DnsResult, QueryOptions, RecordType, Resolver } from '@mailwarden/core';

export interface MemoResolver extends Resolver {
  /** How many distinct queries went to the underlying resolver. */
  readonly queryCount: number;
}

export function memoizeResolver(resolver: Resolver): MemoResolver {
  const answers = new Map<string, Promise<DnsResult<RecordType>>>();
  return {
    get queryCount() {
      return answers.size;
    },
    query<T extends RecordType>(name: string, type: T, options?: QueryOptions): Promise<DnsResult<T>> {
      const key = `${type} ${name.toLowerCase()} ${options?.dnssecOk ? 'do' : ''}${options?.checkingDisabled ? 'cd' : ''}`;
      let answer = answers.get(key);
      if (!answer) {
        answer = resolver.query(name, type, options);
        answers.set(key, answer);
      }
      return answer as Promise<DnsResult<T>>;
    },
  };
}
