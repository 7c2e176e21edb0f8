import type { Parameters } from 'fast-check';

/**
 * Property runs for the fuzz tests: a fixed seed (fast-check prints it, and the path, on a failure,
 * so a failure replays), and few enough runs for CI. PARLEY_FUZZ_RUNS=100000 runs longer;
 * PARLEY_FUZZ_SEED picks another seed.
 */
export function fuzzParameters<T>(runs: number): Parameters<T> {
  return {
    seed: Number(process.env.PARLEY_FUZZ_SEED ?? 20261130),
    numRuns: Number(process.env.PARLEY_FUZZ_RUNS ?? runs),
    verbose: 1,
  };
}

/** A longer run also needs longer test timeouts. */
export const FUZZ_TIMEOUT_MS = process.env.PARLEY_FUZZ_RUNS ? 3_600_000 : 60_000;
