/**
 * Environment parsing shared by every app's `config.ts`.
 *
 * Each app declares one schema of variables; `parseConfig` reads them all and reports every bad or
 * missing variable in a single `ConfigError`, so an operator fixes a deployment in one pass instead
 * of one restart per typo. Only an app's `config.ts` reads `process.env`; libraries receive values.
 */

export interface VariableSpec<T> {
  /** Turns the raw string into a value, or throws an Error whose message explains what is wrong. */
  parse(raw: string): T;
  /** Used when the variable is unset or empty. A function may depend on the deployment mode. */
  fallback?: T | ((mode: DeploymentMode) => T | undefined);
  /** Shown as `<redacted>` in any error or dump. */
  secret?: boolean;
  description: string;
}

export type DeploymentMode = 'development' | 'test' | 'production';

type Schema = Record<string, VariableSpec<unknown>>;
export type ConfigOf<S extends Schema> = { [K in keyof S]: S[K] extends VariableSpec<infer T> ? T : never };

export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export function parseConfig<S extends Schema>(
  schema: S,
  env: Readonly<Record<string, string | undefined>>,
  mode: DeploymentMode,
): ConfigOf<S> {
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(schema)) {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') {
      const fallback =
        typeof spec.fallback === 'function'
          ? (spec.fallback as (m: DeploymentMode) => unknown)(mode)
          : spec.fallback;
      if (fallback === undefined) {
        problems.push(`${name} is required (${spec.description})`);
      } else {
        out[name] = fallback;
      }
      continue;
    }
    try {
      out[name] = spec.parse(raw.trim());
    } catch (err) {
      const shown = spec.secret
        ? '<redacted>'
        : JSON.stringify(raw.length > 80 ? `${raw.slice(0, 80)}…` : raw);
      problems.push(`${name}=${shown}: ${(err as Error).message}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return out as ConfigOf<S>;
}

/**
 * An app's whole configuration: the deployment mode (`MAILWARDEN_ENV`) and the app's schema, with
 * every problem in either reported together in one ConfigError.
 */
export function loadConfig<S extends Schema>(
  schema: S,
  env: Readonly<Record<string, string | undefined>>,
): ConfigOf<S> & { mode: DeploymentMode } {
  const problems: string[] = [];
  let mode: DeploymentMode = 'development';
  try {
    mode = parseDeploymentMode(env.MAILWARDEN_ENV);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(...err.problems);
  }
  try {
    const values = parseConfig(schema, env, mode);
    if (problems.length === 0) return { mode, ...values };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(...err.problems);
  }
  throw new ConfigError(problems);
}

/** Reads the deployment mode; anything but the three known words is refused. */
export function parseDeploymentMode(raw: string | undefined): DeploymentMode {
  const value = (raw ?? 'development').trim() || 'development';
  if (value === 'development' || value === 'test' || value === 'production') return value;
  throw new ConfigError([
    `MAILWARDEN_ENV=${JSON.stringify(value)}: expected development, test or production`,
  ]);
}

// ---- variable kinds -------------------------------------------------------------------------------

export function str(description: string, fallback?: VariableSpec<string>['fallback']): VariableSpec<string> {
  return { description, fallback, parse: (raw) => raw };
}

export function secret(
  description: string,
  opts: { minLength: number; devFallback?: () => string },
): VariableSpec<string> {
  return {
    description,
    secret: true,
    // No default secret outside development and test: production must set it explicitly.
    fallback: (mode) => (mode === 'production' ? undefined : opts.devFallback?.()),
    parse(raw) {
      if (raw.length < opts.minLength) throw new Error(`must be at least ${opts.minLength} characters`);
      return raw;
    },
  };
}

export function url(
  description: string,
  protocols: readonly string[],
  fallback?: VariableSpec<string>['fallback'],
): VariableSpec<string> {
  return {
    description,
    fallback,
    // A connection URL may carry a password, so a bad one is never echoed back.
    secret: true,
    parse(raw) {
      let parsed: URL;
      try {
        parsed = new URL(raw);
      } catch {
        throw new Error('is not a URL');
      }
      if (!protocols.includes(parsed.protocol))
        throw new Error(`protocol must be one of ${protocols.join(', ')}`);
      return raw;
    },
  };
}

export function int(
  description: string,
  bounds: { min: number; max: number },
  fallback?: VariableSpec<number>['fallback'],
): VariableSpec<number> {
  return {
    description,
    fallback,
    parse(raw) {
      if (!/^-?\d+$/.test(raw)) throw new Error('must be an integer');
      const value = Number(raw);
      if (value < bounds.min || value > bounds.max)
        throw new Error(`must be between ${bounds.min} and ${bounds.max}`);
      return value;
    },
  };
}

export function bool(description: string, fallback?: boolean): VariableSpec<boolean> {
  return {
    description,
    fallback,
    parse(raw) {
      const value = raw.toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(value)) return true;
      if (['0', 'false', 'no', 'off'].includes(value)) return false;
      throw new Error('must be true or false');
    },
  };
}

export function oneOf<T extends string>(
  description: string,
  values: readonly T[],
  fallback?: T,
): VariableSpec<T> {
  return {
    description,
    fallback,
    parse(raw) {
      if (!(values as readonly string[]).includes(raw))
        throw new Error(`must be one of ${values.join(', ')}`);
      return raw as T;
    },
  };
}

/** A comma-separated list; each item parsed by `item`, empty items ignored. */
export function list<T>(
  description: string,
  item: (raw: string) => T,
  fallback?: VariableSpec<T[]>['fallback'],
): VariableSpec<T[]> {
  return {
    description,
    fallback,
    parse(raw) {
      const errors: string[] = [];
      const values: T[] = [];
      for (const part of raw
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean)) {
        try {
          values.push(item(part));
        } catch (err) {
          errors.push(`${JSON.stringify(part)} ${(err as Error).message}`);
        }
      }
      if (errors.length > 0) throw new Error(errors.join('; '));
      return values;
    },
  };
}

export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** `LOG_LEVEL`, the same for every app. */
export function logLevel(
  fallback: (typeof logLevels)[number] = 'info',
): VariableSpec<(typeof logLevels)[number]> {
  return oneOf('pino log level', logLevels, fallback);
}
