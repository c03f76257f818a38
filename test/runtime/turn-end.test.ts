// The end-of-turn queue of the runtime: messages leave before storage commits, whatever
// order a turn queued them in; what a commit's callbacks send leaves right after them; other
// work queued while the queue runs waits for the next turn.
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
      atTurnEnd('commit', () => ran.push('late commit'));
    });
    atTurnEnd('send', () => {
      ran.push('send');
      atTurnEnd('send', () => ran.push('late send'));
    });
    await nextTurn();
    expect(ran).toEqual(['send', 'commit']);
    await nextTurn();
    expect(ran).toEqual(['send', 'commit', 'late send', 'late commit']);
  });

  it("sends what a commit's promise callbacks queue right after them, before the next turn", async () => {
    const ran: string[] = [];
    let resolveWrite = (): void => undefined;
    const durable = new Promise<void>((resolve) => (resolveWrite = resolve));
    void durable.then(() => atTurnEnd('send', () => ran.push('answer sent')));
    atTurnEnd('commit', () => {
      ran.push('commit');
      resolveWrite();
    });
    // Queued after the turn's end: it runs after it, in the same pass of the loop.
    setImmediate(() => ran.push('next immediate'));
    await nextTurn();
    await nextTurn();
    expect(ran).toEqual(['commit', 'answer sent', 'next immediate']);
  });
});
