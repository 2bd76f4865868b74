/**
 * Bugs the properties found and that are not fixed yet, each with the cases it covers and a
 * minimal one. The properties skip those cases (so the rest of the op stays checked), and
 * test/known-failures.test.ts runs each minimal case and expects it still to fail: when someone
 * fixes the bug, that test says to delete the entry here.
 */
import type { OpCase } from './ops.js';
import type { Outcome } from './check.js';

export interface KnownFailure {
  op: string;
  /** Backends the minimal case fails on (against the cpu portable reference, or PyTorch). */
  backends: string[];
  what: string;
  covers(c: OpCase): boolean;
  minimal: OpCase;
  /** What a fixed backend gives for the minimal case. */
  fixed(o: Outcome): boolean;
}

/** None open: the last one (a dilated max-pool window over padding only) is fixed, see test/regressions.test.ts. */
export const KNOWN_FAILURES: readonly KnownFailure[] = [];

export function knownFailure(op: string, c: OpCase): KnownFailure | undefined {
  return KNOWN_FAILURES.find((k) => k.op === op && k.covers(c));
}
