// The history checks the swarm runs on every run: linearizability per key (Wing-Gong with
// Lowe's memoization) and durability (the last read of each key sees the last acknowledged
// write), from the checkers, reported as violation messages.
import {
  checkDurability,
  checkLinearizable,
  lastReadsPerKey,
  operationsFromHistory,
} from '../checkers/index.ts';
import type { HistoryEvent } from '../checkers/index.ts';

/** Violations of linearizability or durability in `history`; empty when there are none. */
export function historyViolations(history: readonly HistoryEvent[]): string[] {
  const paired = operationsFromHistory(history);
  if (paired.kind === 'error') return [`malformed history: ${JSON.stringify(paired.error)}`];
  const violations: string[] = [];
  const linearizable = checkLinearizable(paired.operations);
  switch (linearizable.kind) {
    case 'linearizable':
      break;
    case 'not-linearizable':
      violations.push(`not linearizable on key ${linearizable.key}: ${linearizable.message}`);
      break;
    case 'unknown':
      violations.push(`linearizability unknown on key ${linearizable.key} (${linearizable.reason})`);
      break;
  }
  const durability = checkDurability(paired.operations, lastReadsPerKey(paired.operations));
  for (const lost of durability.violations) violations.push(`lost write: ${lost.message}`);
  return violations;
}
