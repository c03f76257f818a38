// Tests of the simulator itself: each fault does what it says, healing restores delivery,
// a crash loses exactly the non-durable writes, and the same seed gives the same trace.
import { describe, expect, it } from 'vitest';
import { hostId, StorageError } from '../env/index.ts';
import { Buggify } from './buggify.ts';
import { constant } from './distribution.ts';
import type { SimHostEnv } from './sim-host.ts';
import { sim } from './world.ts';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const text = (data: Uint8Array): string => new TextDecoder().decode(data);
const key = (k: string): Uint8Array => bytes(k);

/** A process that records what it receives; the test drives its env directly. */
function recorder(): {
  envs: Map<string, SimHostEnv>;
  inbox: Map<string, string[]>;
  boot: (env: SimHostEnv) => object;
} {
  const envs = new Map<string, SimHostEnv>();
  const inbox = new Map<string, string[]>();
  return {
    envs,
    inbox,
    boot: (env) => {
      envs.set(env.host, env);
      inbox.set(env.host, []);
      env.network.onReceive((from, payload) => inbox.get(env.host)?.push(`${from}:${text(payload)}`));
      return {};
    },
  };
}

function send(r: ReturnType<typeof recorder>, from: string, to: string, message: string): void {
  r.envs.get(from)?.network.send(hostId(to), bytes(message));
}

describe('network faults', () => {
  it('delivers every message without faults, asynchronously', () => {
    const r = recorder();
    const w = sim({ seed: 1, hosts: 3, boot: r.boot });
    send(r, 'n1', 'n2', 'a');
    send(r, 'n1', 'n1', 'self');
    expect(r.inbox.get('n2')).toEqual([]);
    w.runForSync(10);
    expect(r.inbox.get('n2')).toEqual(['n1:a']);
    expect(r.inbox.get('n1')).toEqual(['n1:self']);
  });

  it('loss(1) drops everything and removing the rule restores delivery', () => {
    const r = recorder();
    const w = sim({ seed: 2, hosts: 2, boot: r.boot });
    const rule = w.net.loss(1);
    for (let i = 0; i < 20; i += 1) send(r, 'n1', 'n2', `m${i}`);
    w.runForSync(10);
    expect(r.inbox.get('n2')).toEqual([]);
    expect(w.net.stats.droppedByRule).toBe(20);
    w.net.removeRule(rule);
    send(r, 'n1', 'n2', 'after');
    w.runForSync(10);
    expect(r.inbox.get('n2')).toEqual(['n1:after']);
  });

  it('loss(0.1) drops about a tenth', () => {
    const r = recorder();
    const w = sim({ seed: 3, hosts: 2, boot: r.boot });
    w.net.loss(0.1);
    for (let i = 0; i < 2000; i += 1) send(r, 'n1', 'n2', 'x');
    w.runForSync(10);
    const delivered = r.inbox.get('n2')?.length ?? 0;
    expect(delivered).toBeGreaterThan(1700);
    expect(delivered).toBeLessThan(1900);
  });

  it('partitionOff cuts both ways, including messages in flight, and healPartition restores', () => {
    const r = recorder();
    const w = sim({ seed: 4, hosts: 3, boot: r.boot, latency: constant(5) });
    send(r, 'n1', 'n3', 'in-flight');
    w.net.partitionOff('p', ['n3']);
    send(r, 'n1', 'n3', 'a');
    send(r, 'n3', 'n2', 'b');
    send(r, 'n1', 'n2', 'c');
    w.runForSync(10);
    expect(r.inbox.get('n3')).toEqual([]);
    expect(r.inbox.get('n2')).toEqual(['n1:c']);
    w.net.healPartition('p');
    send(r, 'n3', 'n2', 'd');
    w.runForSync(10);
    expect(r.inbox.get('n2')).toEqual(['n1:c', 'n3:d']);
  });

  it('a one-way partition blocks only its direction', () => {
    const r = recorder();
    const w = sim({ seed: 5, hosts: 2, boot: r.boot });
    w.net.partitionOneWay('one-way', ['n1'], ['n2']);
    send(r, 'n1', 'n2', 'blocked');
    send(r, 'n2', 'n1', 'passes');
    w.runForSync(10);
    expect(r.inbox.get('n2')).toEqual([]);
    expect(r.inbox.get('n1')).toEqual(['n2:passes']);
  });

  it('rules match by kind (through the classifier), source, target and predicate', () => {
    const r = recorder();
    const w = sim({ seed: 6, hosts: 3, boot: r.boot });
    w.net.classify((payload) => text(payload).split(':')[0] ?? '');
    w.net.loss(1, { kind: 'vote' });
    w.net.loss(1, { from: 'n3', to: 'n1' });
    w.net.loss(1, { predicate: (m) => m.payload.byteLength > 20 });
    send(r, 'n1', 'n2', 'vote:1');
    send(r, 'n1', 'n2', 'data:1');
    send(r, 'n3', 'n1', 'data:2');
    send(r, 'n3', 'n2', 'data:3');
    send(r, 'n1', 'n2', 'data:a-very-long-message');
    w.runForSync(10);
    expect(r.inbox.get('n2')).toEqual(['n1:data:1', 'n3:data:3']);
    expect(r.inbox.get('n1')).toEqual([]);
  });

  it('duplicate delivers extra copies; delay adds latency', () => {
    const r = recorder();
    const w = sim({ seed: 7, hosts: 2, boot: r.boot, latency: constant(1) });
    w.net.duplicate(1, {}, 2);
    w.net.delay(constant(100));
    send(r, 'n1', 'n2', 'x');
    w.runForSync(50);
    expect(r.inbox.get('n2')).toEqual([]);
    w.runForSync(60);
    expect(r.inbox.get('n2')).toEqual(['n1:x', 'n1:x', 'n1:x']);
  });

  it('reorder makes later messages overtake earlier ones', () => {
    const r = recorder();
    const w = sim({ seed: 8, hosts: 2, boot: r.boot, latency: constant(1) });
    w.net.reorder(50);
    for (let i = 0; i < 50; i += 1) send(r, 'n1', 'n2', `${i}`);
    w.runForSync(100);
    const order = (r.inbox.get('n2') ?? []).map((m) => Number(m.split(':')[1]));
    expect(order).toHaveLength(50);
    expect(order).not.toEqual([...order].sort((a, b) => a - b));
  });

  it('corruption is detected and dropped by default, or delivered as changed bytes on request', () => {
    const r = recorder();
    const w = sim({ seed: 9, hosts: 2, boot: r.boot });
    const rule = w.net.corrupt(1);
    send(r, 'n1', 'n2', 'hello');
    w.runForSync(10);
    expect(r.inbox.get('n2')).toEqual([]);
    expect(w.net.stats.droppedCorrupt).toBe(1);
    w.net.removeRule(rule);
    w.net.corrupt(1, {}, true);
    send(r, 'n1', 'n2', 'hello');
    w.runForSync(10);
    expect(r.inbox.get('n2')).toHaveLength(1);
    expect(r.inbox.get('n2')?.[0]).not.toBe('n1:hello');
    expect(w.net.stats.deliveredCorrupt).toBe(1);
  });
});

describe('clock faults', () => {
  it('rate, wall jumps and pauses; monotonic never decreases', () => {
    const r = recorder();
    const w = sim({ seed: 10, hosts: 2, boot: r.boot, wallStartMs: 1_000_000 });
    const clock = r.envs.get('n1')!.clock;
    w.clock('n1').rate(2);
    w.runForSync(100);
    expect(clock.monotonicMs()).toBe(200);
    w.clock('n1').jump(-50_000);
    expect(clock.nowMs()).toBe(1_000_000 + 200 - 50_000);
    expect(clock.monotonicMs()).toBe(200);
    w.clock('n1').pause(1_000);
    w.runForSync(500);
    expect(clock.monotonicMs()).toBe(200);
    w.runForSync(600);
    expect(clock.monotonicMs()).toBe(400);
    expect(r.envs.get('n2')!.clock.monotonicMs()).toBe(1_200);
  });

  it('timers follow the host clock: same due time in order set, never inside setTimer, stalled by a pause', () => {
    const r = recorder();
    const w = sim({ seed: 11, hosts: 1, boot: r.boot });
    const clock = r.envs.get('n1')!.clock;
    const fired: string[] = [];
    clock.setTimer(10, () => fired.push('a'));
    clock.setTimer(10, () => fired.push('b'));
    clock.setTimer(0, () => fired.push('zero'));
    clock.setTimer(5, () => fired.push('cancelled')).cancel();
    expect(fired).toEqual([]);
    w.clock('n1').rate(0.5);
    w.runForSync(15);
    expect(fired).toEqual(['zero']);
    w.clock('n1').pause();
    w.runForSync(100);
    expect(fired).toEqual(['zero']);
    w.clock('n1').resume();
    w.runForSync(20);
    expect(fired).toEqual(['zero', 'a', 'b']);
    expect(clock.monotonicMs()).toBeGreaterThanOrEqual(10);
  });

  it('a paused host receives its messages only after it resumes', () => {
    const r = recorder();
    const w = sim({ seed: 12, hosts: 2, boot: r.boot });
    w.clock('n2').pause(100);
    send(r, 'n1', 'n2', 'x');
    w.runForSync(50);
    expect(r.inbox.get('n2')).toEqual([]);
    w.runForSync(60);
    expect(r.inbox.get('n2')).toEqual(['n1:x']);
  });
});

describe('disk faults', () => {
  it('a crash loses exactly the writes whose promise had not resolved, and restart keeps the rest', async () => {
    const r = recorder();
    const w = sim({ seed: 13, hosts: 1, boot: r.boot });
    w.disk('n1').syncLatency(constant(10));
    const storage = r.envs.get('n1')!.storage;
    let acknowledged = false;
    void storage.write([{ kind: 'put', key: key('a'), value: bytes('1') }]).then(() => {
      acknowledged = true;
    });
    await w.runFor(11);
    expect(acknowledged).toBe(true);
    void storage.write([{ kind: 'put', key: key('b'), value: bytes('2') }]);
    void storage.write([{ kind: 'delete', key: key('a') }]);
    expect(storage.get(key('b'))).toEqual(bytes('2'));
    expect(storage.get(key('a'))).toBeUndefined();
    expect(w.crash('n1')).toBe(2);
    w.restart('n1');
    const after = r.envs.get('n1')!.storage;
    expect(after.get(key('a'))).toEqual(bytes('1'));
    expect(after.get(key('b'))).toBeUndefined();
    await expect(storage.write([{ kind: 'delete', key: key('a') }])).rejects.toMatchObject({
      kind: 'closed',
    });
  });

  it('crashKeepsPrefix keeps a prefix in write order, never a later batch without an earlier one', async () => {
    for (let seed = 0; seed < 20; seed += 1) {
      const r = recorder();
      const w = sim({ seed, hosts: 1, boot: r.boot });
      w.disk('n1').faults.crashKeepsPrefix = true;
      const storage = r.envs.get('n1')!.storage;
      for (let i = 0; i < 5; i += 1)
        void storage.write([{ kind: 'put', key: key(`k${i}`), value: bytes('v') }]);
      w.crash('n1');
      w.restart('n1');
      const present = [0, 1, 2, 3, 4].map((i) => r.envs.get('n1')!.storage.get(key(`k${i}`)) !== undefined);
      const kept = present.filter(Boolean).length;
      expect(present).toEqual([0, 1, 2, 3, 4].map((i) => i < kept));
      await w.runFor(1);
    }
  });

  it('a full disk rejects with disk-full and applies nothing; a bounded disk fills up', async () => {
    const r = recorder();
    const w = sim({ seed: 14, hosts: 1, boot: r.boot });
    const storage = r.envs.get('n1')!.storage;
    w.disk('n1').full();
    const rejected = storage.write([{ kind: 'put', key: key('a'), value: bytes('1') }]);
    await expect(w.settle(rejected)).rejects.toBeInstanceOf(StorageError);
    await expect(rejected).rejects.toMatchObject({ kind: 'disk-full' });
    expect(storage.get(key('a'))).toBeUndefined();
    w.disk('n1').full(false);
    w.disk('n1').faults.capacityBytes = 10;
    await w.settle(storage.write([{ kind: 'put', key: key('a'), value: bytes('12345') }]));
    await expect(
      w.settle(storage.write([{ kind: 'put', key: key('b'), value: bytes('12345') }])),
    ).rejects.toMatchObject({
      kind: 'disk-full',
    });
    expect(storage.get(key('b'))).toBeUndefined();
  });

  it('corruption flips bits of a stored value, durably', async () => {
    const r = recorder();
    const w = sim({ seed: 15, hosts: 1, boot: r.boot });
    const storage = r.envs.get('n1')!.storage;
    await w.settle(storage.write([{ kind: 'put', key: key('a'), value: bytes('abcdef') }]));
    expect(w.disk('n1').corrupt(key('a'))).toBe(true);
    const damaged = storage.get(key('a'));
    expect(damaged).not.toEqual(bytes('abcdef'));
    w.crash('n1');
    w.restart('n1');
    expect(r.envs.get('n1')!.storage.get(key('a'))).toEqual(damaged);
  });

  it('slow syncs delay acknowledgement; group commit acknowledges in write order', async () => {
    const r = recorder();
    const w = sim({ seed: 16, hosts: 1, boot: r.boot });
    w.disk('n1').syncLatency(constant(30));
    const storage = r.envs.get('n1')!.storage;
    const order: number[] = [];
    for (let i = 0; i < 3; i += 1)
      void storage.write([{ kind: 'put', key: key(`${i}`), value: bytes('v') }]).then(() => order.push(i));
    await w.runFor(29);
    expect(order).toEqual([]);
    await w.runFor(2);
    expect(order).toEqual([0, 1, 2]);
  });
});

describe('processes and the run loop', () => {
  it('a crash cancels timers and drops the handler; restart boots again; crashGroup takes a rack', () => {
    const r = recorder();
    const w = sim({ seed: 17, hosts: 6, boot: r.boot });
    let fired = false;
    r.envs.get('n1')!.clock.setTimer(10, () => {
      fired = true;
    });
    w.crash('n1');
    send(r, 'n2', 'n1', 'lost');
    w.runForSync(20);
    expect(fired).toBe(false);
    expect(r.inbox.get('n1')).toEqual([]);
    w.restart('n1');
    expect(w.host('n1').incarnation).toBe(2);
    expect(w.crashGroup({ rack: 'r2' }).sort()).toEqual(['n2', 'n5']);
    expect(w.host('n5').state).toBe('down');
    w.restartGroup({ rack: 'r2' });
    expect(w.host('n5').state).toBe('up');
  });

  it('promise continuations of an event run before the next event', async () => {
    const r = recorder();
    const w = sim({ seed: 18, hosts: 1, boot: r.boot });
    w.disk('n1').syncLatency(constant(10));
    const env = r.envs.get('n1')!;
    const log: string[] = [];
    const chain = async (): Promise<void> => {
      await env.storage.write([{ kind: 'put', key: key('x'), value: bytes('1') }]);
      log.push('durable');
      await Promise.resolve();
      await Promise.resolve();
      log.push('after two more awaits');
    };
    void chain();
    w.runForSync(0); // the sync starts: it will finish at 10 ms
    env.clock.setTimer(10, () => log.push('timer at the same time'));
    await w.runFor(20);
    expect(log).toEqual(['durable', 'after two more awaits', 'timer at the same time']);
  });

  it('continuations a handler chains on an already-settled promise run before the next event', async () => {
    const order = async (microtasks: 'host-events' | 'settled-only'): Promise<string[]> => {
      const log: string[] = [];
      const settled = Promise.resolve();
      const w = sim({
        seed: 18,
        hosts: 1,
        microtasks,
        boot: (env) => {
          env.network.onReceive(() => void settled.then(() => log.push('continuation')));
          return {};
        },
      });
      w.after(1, () => w.host('n1').receive(hostId('n1'), bytes('z')));
      w.after(1, () => log.push('next event'));
      await w.runFor(5);
      return log;
    };
    expect(await order('host-events')).toEqual(['continuation', 'next event']);
    expect(await order('settled-only')).toEqual(['next event', 'continuation']);
  });

  it('the synchronous loop refuses to run past a settled promise', () => {
    const r = recorder();
    const w = sim({ seed: 19, hosts: 1, boot: r.boot });
    void r.envs.get('n1')!.storage.write([{ kind: 'put', key: key('x'), value: bytes('1') }]);
    expect(() => w.runForSync(10)).toThrow(/settled a promise/);
  });

  it('the same seed gives the same trace hash; another seed another', () => {
    const run = (seed: number): string => {
      const r = recorder();
      const w = sim({ seed, hosts: 5, boot: r.boot });
      w.net.loss(0.2);
      w.net.reorder(10);
      for (let i = 0; i < 100; i += 1) send(r, `n${(i % 5) + 1}`, `n${((i * 3) % 5) + 1}`, `m${i}`);
      w.runForSync(100);
      return `${w.traceHash()} ${JSON.stringify([...r.inbox.entries()])}`;
    };
    expect(run(20)).toBe(run(20));
    expect(run(20)).not.toBe(run(21));
  });
});

describe('buggify', () => {
  it('never fires when off; fires per site deterministically from the seed when on', () => {
    const off = Buggify.off();
    expect(Array.from({ length: 100 }, () => off.fires('site')).some(Boolean)).toBe(false);
    const draws = (seed: number): boolean[] => {
      const w = sim({ seed, hosts: 1, buggify: { siteEnabledProbability: 1, fireProbability: 0.5 } });
      return Array.from({ length: 50 }, (_, i) => w.buggify.fires(`site${i % 3}`));
    };
    expect(draws(1)).toEqual(draws(1));
    expect(draws(1).filter(Boolean).length).toBeGreaterThan(10);
    const never = sim({ seed: 1, hosts: 1, buggify: { siteEnabledProbability: 0, fireProbability: 1 } });
    expect(never.buggify.fires('x')).toBe(false);
  });
});
