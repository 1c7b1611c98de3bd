/**
 * Which upstream to ask first. Servers keep their configured order (resolv.conf semantics) while
 * they answer. One that times out or errors is pushed to the back for a back-off that doubles
 * with each consecutive failure, so a dead server costs one timeout per back-off period instead
 * of one per query. Any answer, even SERVFAIL, proves it alive and clears its record.
 */
import type { DnsServerAddress } from './servers.ts';

export interface HealthOptions {
  baseBackoffMs: number;
  maxBackoffMs: number;
  now(): number;
}

interface ServerState {
  server: DnsServerAddress;
  index: number;
  consecutiveFailures: number;
  downUntilMs: number;
}

export class ServerHealth {
  private readonly states: ServerState[];
  private readonly inOrder: DnsServerAddress[];
  private readonly options: HealthOptions;
  private anyDown = false;

  constructor(servers: DnsServerAddress[], options: HealthOptions) {
    this.states = servers.map((server, index) => ({ server, index, consecutiveFailures: 0, downUntilMs: 0 }));
    this.inOrder = servers;
    this.options = options;
  }

  /** Servers to try, best first: healthy ones in configured order, then the rest, soonest-back first. */
  order(): DnsServerAddress[] {
    if (!this.anyDown) return this.inOrder;
    const now = this.options.now();
    const up = this.states.filter((s) => s.downUntilMs <= now);
    if (up.length === this.states.length) {
      this.anyDown = false;
      return this.inOrder;
    }
    const down = this.states.filter((s) => s.downUntilMs > now).sort((a, b) => a.downUntilMs - b.downUntilMs);
    return [...up, ...down].map((s) => s.server);
  }

  succeeded(server: DnsServerAddress): void {
    const state = this.stateOf(server);
    if (!state || state.consecutiveFailures === 0) return;
    state.consecutiveFailures = 0;
    state.downUntilMs = 0;
  }

  failed(server: DnsServerAddress): void {
    const state = this.stateOf(server);
    if (!state) return;
    state.consecutiveFailures++;
    const backoff = Math.min(
      this.options.maxBackoffMs,
      this.options.baseBackoffMs * 2 ** Math.min(state.consecutiveFailures - 1, 20),
    );
    state.downUntilMs = this.options.now() + backoff;
    this.anyDown = true;
  }

  /** For stats and tests: servers currently backed off. */
  downServers(): DnsServerAddress[] {
    const now = this.options.now();
    return this.states.filter((s) => s.downUntilMs > now).map((s) => s.server);
  }

  private stateOf(server: DnsServerAddress): ServerState | undefined {
    return this.states.find((s) => s.server === server);
  }
}
