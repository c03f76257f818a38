// Scenario tests of the ABD register on the simulator, each about ten lines: message loss,
// partitions, crashes; checked for linearizability and for lost acknowledged writes.
import { describe, expect, it } from 'vitest';
import { hostId } from '../../env/index.ts';
import { historyViolations } from '../swarm/checks.ts';
import { sim } from '../world.ts';
import { decode } from './abd-register.ts';
import { abdSystem } from './abd-system.ts';

describe('ABD register in simulation', () => {
  it('7 hosts with 10% message loss: progress, linearizable, nothing lost', async () => {
    const w = sim({ seed: 7, hosts: [] });
    const abd = abdSystem().install(w, { servers: 7, clients: 3 });
    w.net.loss(0.1);
    await w.runFor(1_000);
    abd.stopWorkload();
    expect(await w.runUntil(() => abd.idle(), 5_000)).toBe(true);
    expect(abd.okOperations()).toBeGreaterThan(100);
    expect(historyViolations(abd.history())).toEqual([]);
    expect(abd.checkInvariants()).toEqual([]);
  });

  it('a partitioned minority does not stop progress; a partitioned majority does, until healed', async () => {
    const w = sim({ seed: 8, hosts: [] });
    const abd = abdSystem().install(w, { servers: 5, clients: 2 });
    w.net.partitionOff('minority', ['n1', 'n2']);
    await w.runFor(500);
    const withMinorityCut = abd.okOperations();
    expect(withMinorityCut).toBeGreaterThan(20);
    w.net.partitionOff('majority', ['n3', 'n4', 'n5']);
    await w.runFor(1_500); // in-flight operations time out
    const stalled = abd.okOperations();
    await w.runFor(1_000);
    expect(abd.okOperations()).toBe(stalled);
    w.net.healPartition('majority');
    w.net.healPartition('minority');
    await w.runFor(500);
    expect(abd.okOperations()).toBeGreaterThan(stalled + 20);
    expect(historyViolations(abd.history())).toEqual([]);
  });

  it('crashes and restarts of a minority lose no acknowledged write (rack r1 fails)', async () => {
    const w = sim({ seed: 9, hosts: [] });
    const abd = abdSystem().install(w, { servers: 5, clients: 3 });
    for (const name of abd.servers) w.disk(name).faults.crashKeepsPrefix = true;
    w.after(200, () => w.crashGroup({ rack: 'r1' }));
    w.after(600, () => w.restartGroup({ rack: 'r1' }));
    w.after(800, () => w.reboot('n3', 100));
    await w.runFor(1_500);
    abd.stopWorkload();
    await w.runUntil(() => abd.idle(), 5_000);
    expect(historyViolations(abd.history())).toEqual([]);
    expect(abd.checkInvariants()).toEqual([]);
  });

  it('the durability check catches replicas that acknowledge before the write is durable', async () => {
    const w = sim({ seed: 10, hosts: [] });
    const abd = abdSystem({ bugs: { ackBeforeDurable: true } }).install(w, { servers: 3, clients: 2 });
    for (const name of abd.servers) w.disk(name).syncLatency({ kind: 'constant', ms: 50 });
    await w.runFor(300);
    for (const name of abd.servers) w.crash(name);
    expect(abd.checkInvariants().join('\n')).toMatch(/acknowledged write lost/);
  });

  it('malformed messages are dropped, never thrown on', () => {
    for (const text of [
      '',
      '{',
      'null',
      '[1]',
      '{"t":"get","op":1}',
      '{"t":"set","op":1,"key":"x","ts":[1],"value":1}',
    ]) {
      expect(decode(new TextEncoder().encode(text))).toBeUndefined();
    }
    const w = sim({ seed: 11, hosts: [] });
    abdSystem().install(w, { servers: 3, clients: 1 });
    expect(() => w.host('n1').receive(hostId('c1'), new Uint8Array([0xff, 0x00, 0x7b]))).not.toThrow();
  });
});
