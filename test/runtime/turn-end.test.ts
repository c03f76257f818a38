// The end-of-turn queue of the runtime: messages leave before storage commits, whatever
// order a turn queued them in, and work queued while the queue runs waits for the next turn.
import { describe, expect, it } from 'vitest';
import { atTurnEnd } from '../../src/runtime/turn-end.ts';

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('atTurnEnd', () => {
  it('runs every send task before any commit task of the same turn, each stage in order', async () => {
    const ran: string[] = [];
    atTurnEnd('commit', () => ran.push('commit 1'));
    atTurnEnd('send', () => ran.push('send 1'));
    atTurnEnd('commit', () => ran.push('commit 2'));
    atTurnEnd('send', () => ran.push('send 2'));
    expect(ran).toEqual([]);
    await nextTurn();
    expect(ran).toEqual(['send 1', 'send 2', 'commit 1', 'commit 2']);
  });

  it('defers a task queued by a running task to the next turn', async () => {
    const ran: string[] = [];
    atTurnEnd('commit', () => {
      ran.push('commit');
      atTurnEnd('send', () => ran.push('late send'));
    });
    await nextTurn();
    expect(ran).toEqual(['commit']);
    await nextTurn();
    expect(ran).toEqual(['commit', 'late send']);
  });
});
