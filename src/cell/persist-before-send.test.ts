// The ordering rule (paper §2.2, durable across dirty reboots): a Ready's messages leave only
// after its own storage write resolved AND every earlier Ready was processed; a failed write
// means nothing after it is ever sent or acknowledged. Two exceptions, both safe: a leader's
// accepts leave in parallel with its own write (its vote counts only once durable), and a
// Ready that only moves the commit index is acted on before its write resolves.
import { describe, expect, it } from 'vitest';
import { SeededRandom, StorageError } from '../env/index.ts';
import type { Storage, StorageWrite } from '../env/index.ts';
import { partitionKey } from '../model/index.ts';
import { ballot, nodeId } from '../paxos/index.ts';
import type { PaxosMessage } from '../paxos/index.ts';
import { CellReplica } from './replica.ts';
import { cellMessageKind, encodePaxosEnvelope } from './wire.ts';
import type { CellOptions } from './types.ts';

/** A storage whose writes resolve only when the test says so (any order). */
function manualStorage(): {
  storage: Storage;
  pending: Array<{ resolve: () => void; reject: (e: Error) => void }>;
} {
  const data = new Map<string, Uint8Array>();
  const keyOf = (key: Uint8Array): string => Buffer.from(key).toString('hex');
  const pending: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  const storage: Storage = {
    get: (key) => data.get(keyOf(key)),
    range: (range) => {
      const start = range.start === undefined ? '' : keyOf(range.start);
      const end = range.end === undefined ? '\uffff' : keyOf(range.end);
      return [...data.entries()]
        .filter(([k]) => k >= start && k < end)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([k, v]) => [Buffer.from(k, 'hex'), v] as const);
    },
    write: (batch: readonly StorageWrite[]) => {
      for (const op of batch) {
        if (op.kind === 'put') data.set(keyOf(op.key), op.value);
        else data.delete(keyOf(op.key));
      }
      return new Promise<void>((resolve, reject) => pending.push({ resolve, reject }));
    },
  };
  return { storage, pending };
}

async function replicaOnManualDisk(options: Partial<CellOptions> = {}) {
  const { storage, pending } = manualStorage();
  const sent: string[] = [];
  const kinds: string[] = [];
  const env = {
    cellId: partitionKey('c'),
    self: nodeId('n1'),
    storage,
    clock: { nowMs: () => 0, monotonicMs: () => 0, setTimer: () => ({ cancel: () => undefined }) },
    random: new SeededRandom(1),
    send: (to: string, bytes: Uint8Array) => {
      sent.push(to);
      kinds.push(`${to}:${cellMessageKind(bytes)}`);
    },
  };
  const created = CellReplica.create(env, [nodeId('n1'), nodeId('n2'), nodeId('n3')], options);
  pending.shift()!.resolve();
  const cell = await created;
  const prepare = (round: number, from: string): PaxosMessage => ({
    kind: 'prepare',
    ballot: ballot(round, nodeId(from)),
    fromIndex: 1 as never,
  });
  return {
    cell,
    pending,
    sent,
    kinds,
    step: (from: string, message: PaxosMessage) => cell.receive(nodeId(from), encodePaxosEnvelope(message)),
    deliver: (round: number, from: string) =>
      cell.receive(nodeId(from), encodePaxosEnvelope(prepare(round, from))),
  };
}

/** Lets promise continuations run (a few microtask turns; no timers). */
async function settle(): Promise<void> {
  for (let turn = 0; turn < 20; turn += 1) await Promise.resolve();
}

describe('persist before send', () => {
  it('sends a promise only after the write holding it resolved', async () => {
    const r = await replicaOnManualDisk();
    r.deliver(1, 'n2');
    await settle();
    expect(r.sent).toEqual([]);
    expect(r.cell.describe().unpersistedReadies).toBe(1);
    r.pending.shift()!.resolve();
    await settle();
    expect(r.sent).toEqual(['n2']);
  });

  it('keeps Readies in order even when a later write resolves first', async () => {
    const r = await replicaOnManualDisk();
    r.deliver(1, 'n2');
    r.deliver(2, 'n3');
    const [first, second] = [r.pending.shift()!, r.pending.shift()!];
    second.resolve();
    await settle();
    expect(r.sent).toEqual([]);
    first.resolve();
    await settle();
    expect(r.sent).toEqual(['n2', 'n3']);
  });

  it('after a failed write sends nothing more and answers every client', async () => {
    const r = await replicaOnManualDisk();
    r.deliver(1, 'n2');
    r.deliver(2, 'n3');
    r.pending.shift()!.reject(new StorageError('io-error', 'boom'));
    r.pending.shift()!.resolve();
    await settle();
    expect(r.sent).toEqual([]);
    expect(r.cell.describe().failed).toMatch(/boom/);
    expect((await r.cell.submit({ kind: 'lease-release', name: 'L', holder: 'h' })).kind).toBe('unavailable');
    r.deliver(3, 'n2');
    await settle();
    expect(r.sent).toEqual([]);
  });

  it('a leader on a busy host sends each accept to every member, on a quiet one to a quorum', async () => {
    for (const quiet of [false, true]) {
      const r = await replicaOnManualDisk({ hostQuiet: () => quiet });
      void r.cell.submit({ kind: 'lease-release', name: 'L', holder: 'h' });
      await settle();
      r.pending.shift()!.resolve();
      await settle();
      r.step('n2', {
        kind: 'promise',
        ballot: ballot(1, nodeId('n1')),
        commitIndex: 0 as never,
        entries: [],
      });
      await settle();
      const accepts = r.kinds.filter((k) => k.endsWith(':accept')).sort();
      expect(accepts).toEqual(quiet ? ['n2:accept'] : ['n2:accept', 'n3:accept']);
    }
  });

  it("a leader's accepts leave before its own write resolves; its own vote counts only after", async () => {
    const r = await replicaOnManualDisk();
    let answered = false;
    const answer = r.cell.submit({ kind: 'lease-release', name: 'L', holder: 'h' }).then((outcome) => {
      answered = true;
      return outcome;
    });
    await settle();
    r.pending.shift()!.resolve(); // the campaign's promise is durable: prepares go out
    await settle();
    r.step('n2', { kind: 'promise', ballot: ballot(1, nodeId('n1')), commitIndex: 0 as never, entries: [] });
    await settle();
    // Elected: the accept is out although the leader's copy of entry 1 is not durable yet
    // (thrifty: only to n2, which with the leader makes a quorum of three).
    expect(r.kinds.filter((k) => k.endsWith(':accept')).sort()).toEqual(['n2:accept']);
    expect(r.cell.describe().unpersistedReadies).toBe(1);
    // n2's vote alone is not a quorum of three: the leader's own vote must wait for its disk.
    r.step('n2', { kind: 'accepted', ballot: ballot(1, nodeId('n1')), index: 1 as never });
    await settle();
    expect(answered).toBe(false);
    r.pending.shift()!.resolve();
    await settle();
    // Chosen by n1 + n2, answered. The next tick announces the commit and writes nothing:
    // the commit index alone is written only when the host asks (before an eviction).
    expect(answered).toBe(true);
    expect((await answer).kind).toBe('lease');
    expect(r.pending.length).toBe(0);
    const sentBefore = r.kinds.length;
    r.cell.tick();
    await settle();
    expect(r.pending.length).toBe(0);
    expect(r.kinds.slice(sentBefore).sort()).toEqual(['n2:commit', 'n3:commit']);
    // A Ready that only moves the commit index is done with before its write resolves.
    r.cell.saveCommitIndex();
    await settle();
    expect(r.pending.length).toBe(1);
    expect(r.cell.describe().unpersistedReadies).toBe(0);
    expect(r.cell.isQuiescent).toBe(true);
    r.pending.shift()!.resolve();
    await settle();
  });
});
