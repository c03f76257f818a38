// Work a host defers to the end of the current event-loop turn, in a fixed order: messages
// leave before storage commits, so a commit that blocks for its sync never holds back a
// message that did not have to wait for it.

/** What runs at the end of a turn: every 'send' task, then every 'commit' task. */
export type TurnEndStage = 'send' | 'commit';

let sends: Array<() => void> = [];
let commits: Array<() => void> = [];
let scheduled = false;

/**
 * Runs `task` once this turn's I/O callbacks are done (one `setImmediate` serves every task
 * of the turn), sends before commits. A send queued by a commit's promise callbacks runs
 * right after them; any other task queued while the tasks run waits for the next turn.
 */
export function atTurnEnd(stage: TurnEndStage, task: () => void): void {
  if (stage === 'send') sends.push(task);
  else commits.push(task);
  if (scheduled) return;
  scheduled = true;
  setImmediate(runTurnEnd);
}

function runTurnEnd(): void {
  scheduled = false;
  const sending = sends;
  const committing = commits;
  sends = [];
  commits = [];
  for (const task of sending) task();
  if (committing.length === 0) return;
  const queuedBySends = sends; // for the next turn, which is scheduled
  sends = [];
  for (const task of committing) task();
  queueMicrotask(() => runSendsAfterCommits(queuedBySends));
}

/**
 * Runs once the callbacks of this turn's commits have run (they were queued first): what they
 * sent, a replica's answers now durable, leaves at once instead of a loop iteration later.
 */
function runSendsAfterCommits(queuedBySends: Array<() => void>): void {
  const sending = sends;
  sends = queuedBySends;
  for (const task of sending) task();
}
