// Work a host defers to the end of the current event-loop turn, in a fixed order: messages
// leave before storage commits, so a commit that blocks for its sync never holds back a
// message that did not have to wait for it.

/** What runs at the end of a turn, in this order. */
export type TurnEndStage = 'send' | 'commit';

const stageOrder: readonly TurnEndStage[] = ['send', 'commit'];
const queued: Record<TurnEndStage, Array<() => void>> = { send: [], commit: [] };
let scheduled = false;

/**
 * Runs `task` once this turn's I/O callbacks are done (one `setImmediate` serves every task
 * of the turn): every 'send' task first, then every 'commit' task. A task queued while the
 * tasks run waits for the next turn.
 */
export function atTurnEnd(stage: TurnEndStage, task: () => void): void {
  queued[stage].push(task);
  if (scheduled) return;
  scheduled = true;
  setImmediate(runTurnEnd);
}

function runTurnEnd(): void {
  scheduled = false;
  const batches = stageOrder.map((stage) => {
    const tasks = queued[stage];
    queued[stage] = [];
    return tasks;
  });
  for (const tasks of batches) for (const task of tasks) task();
}
