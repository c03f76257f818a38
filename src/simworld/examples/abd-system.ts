// The ABD register as a SystemUnderTest for the swarm runner: server hosts run replicas
// spread over racks and power domains, client hosts run the read/write workload, and the
// recorder stamps every history event with the simulation's true time.
import type { HostId } from '../../env/index.ts';
import { hostId } from '../../env/index.ts';
import type { HistoryEvent } from '../checkers/history.ts';
import type { SystemInstance, SystemSize, SystemUnderTest } from '../swarm/system-under-test.ts';
import type { World } from '../world.ts';
import { bootClient, bootReplica, messageKind, newer, parseRecord, storageKey } from './abd-register.ts';
import type { AbdBugs, Timestamp } from './abd-register.ts';

/** Workload and timing of the register. */
export interface AbdSettings {
  readonly keys: readonly string[];
  readonly retransmitMs: number;
  readonly operationTimeoutMs: number;
  readonly thinkMsMax: number;
  /** Deliberate bugs (tests of the checkers); none by default. */
  readonly bugs?: AbdBugs;
}

export const ABD_DEFAULTS: AbdSettings = {
  keys: ['x', 'y', 'z'],
  retransmitMs: 20,
  operationTimeoutMs: 1_000,
  thinkMsMax: 10,
};

export function abdSystem(overrides: Partial<AbdSettings> = {}): SystemUnderTest {
  const settings: AbdSettings = { ...ABD_DEFAULTS, ...overrides };
  return {
    name: 'abd-register',
    tolerance: { corruptedDisksMax: 1 },
    messageKind,
    install: (world, size) => installAbd(world, size, settings),
  };
}

function installAbd(world: World, size: SystemSize, settings: AbdSettings): SystemInstance {
  const servers: HostId[] = [];
  const clients: HostId[] = [];
  const events: HistoryEvent[] = [];
  const busy = new Set<number>();
  let running = true;
  let okCount = 0;
  const quorumStored = new Map<string, Timestamp>();
  for (let index = 0; index < size.servers; index += 1) {
    const name = `n${index + 1}`;
    world.addHost({
      name,
      labels: { rack: `r${(index % 3) + 1}`, power: `p${(index % 2) + 1}` },
      boot: (env) => bootReplica(env, settings.bugs),
    });
    servers.push(hostId(name));
  }
  for (let index = 0; index < size.clients; index += 1) {
    const name = `c${index + 1}`;
    const boot = bootClient({
      clientIndex: index,
      replicas: servers,
      keys: settings.keys,
      retransmitMs: settings.retransmitMs,
      operationTimeoutMs: settings.operationTimeoutMs,
      thinkMsMax: settings.thinkMsMax,
      ...(settings.bugs === undefined ? {} : { bugs: settings.bugs }),
      isRunning: () => running,
      onOk: () => {
        okCount += 1;
      },
      onQuorumStored: (key, ts) => {
        if (ts[0] === 0) return; // a read of a never-written key stores nothing
        const known = quorumStored.get(key);
        if (known === undefined || newer(ts, known)) quorumStored.set(key, ts);
      },
      record: (event) => {
        if (event.type === 'invoke') busy.add(event.process);
        else busy.delete(event.process);
        events.push({ ...event, time: world.nowMs });
        world.mark(`${event.process}${event.type}${String(event.value)}`);
      },
    });
    world.addHost({ name, labels: { role: 'client' }, boot });
    clients.push(hostId(name));
  }
  for (const name of [...servers, ...clients]) world.start(name);
  return {
    servers,
    clients,
    stopWorkload: () => {
      running = false;
    },
    idle: () => busy.size === 0,
    okOperations: () => okCount,
    history: () => events,
    checkInvariants: () => lostWrites(world, servers, quorumStored),
  };
}

/**
 * Durability: for each key, the newest timestamp a client saw stored by a majority must
 * still be durable on a majority (replicas with a corrupt record cannot say, so they count
 * as holding it: they stay silent rather than answer wrongly).
 */
function lostWrites(
  world: World,
  servers: readonly HostId[],
  quorumStored: ReadonlyMap<string, Timestamp>,
): string[] {
  const majority = Math.floor(servers.length / 2) + 1;
  const violations: string[] = [];
  for (const [key, ts] of [...quorumStored.entries()].sort()) {
    const holding = servers.filter((server) => {
      const entry = world.disk(server).durableRange({ start: storageKey(key), limit: 1 })[0];
      if (entry === undefined || Buffer.compare(entry[0], storageKey(key)) !== 0) return false;
      const record = parseRecord(entry[1]);
      return record === undefined || !newer(ts, record.ts);
    });
    if (holding.length < majority) {
      violations.push(
        `acknowledged write lost: key ${key} timestamp ${ts.join('.')} durable on ${holding.length}`,
      );
    }
  }
  return violations;
}
