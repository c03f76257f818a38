// Benchmark of the simulator (issue 3 figures): how long a 7-host scenario with 10% message
// loss takes (target: under 100 ms), the simulated-to-wall time ratio of a busy 7-host run,
// and the cost per event of draining promise continuations. Run: npm run bench:simworld
import { cpus } from 'node:os';
import { hostId } from '../src/env/index.ts';
import { abdSystem } from '../src/simworld/examples/abd-system.ts';
import { sim } from '../src/simworld/index.ts';
import { historyViolations } from '../src/simworld/swarm/checks.ts';
import { runSeed } from '../src/simworld/swarm/runner.ts';

async function lossScenarioMs(seed: number): Promise<{ wallMs: number; events: number; violations: number }> {
  const startMs = performance.now();
  const world = sim({ seed, hosts: [] });
  const register = abdSystem().install(world, { servers: 7, clients: 3 });
  world.net.loss(0.1);
  await world.runFor(1_000);
  register.stopWorkload();
  await world.runUntil(() => register.idle(), 5_000);
  const violations = historyViolations(register.history()).length;
  return { wallMs: performance.now() - startMs, events: world.stats().eventsRun, violations };
}

function pingPongWorld(policy: 'host-events' | 'settled-only') {
  return sim({
    seed: 1,
    hosts: 7,
    microtasks: policy,
    boot: (env) => {
      env.network.onReceive((from, payload) => env.network.send(from, payload));
      if (env.host === 'n1')
        for (let i = 2; i <= 7; i += 1) env.network.send(hostId(`n${i}`), new Uint8Array(16));
      return {};
    },
  });
}

console.log(
  `simworld benchmark on ${cpus()[0]?.model ?? 'unknown CPU'} (${cpus().length} cores, shared), node ${process.version}, single-threaded`,
);

const scenarioRuns: number[] = [];
for (let run = 0; run < 8; run += 1) {
  const result = await lossScenarioMs(7 + run);
  if (result.violations !== 0) throw new Error(`scenario seed ${7 + run}: ${result.violations} violations`);
  scenarioRuns.push(result.wallMs);
  console.log(
    `7-host ABD register, 10% loss, 1 s simulated: run ${run + 1} ${result.wallMs.toFixed(1)} ms wall, ${result.events} events`,
  );
}
const warm = scenarioRuns.slice(1).sort((a, b) => a - b);
console.log(
  `  cold ${scenarioRuns[0]?.toFixed(1)} ms; warm median ${warm[Math.floor(warm.length / 2)]?.toFixed(1)} ms (target: under 100 ms)`,
);

let checkMs = 0;
const busyStartMs = performance.now();
const busy = await runSeed({
  seed: 10,
  system: abdSystem(),
  size: { servers: 7, clients: 10 },
  safetyMs: 60_000,
  livenessBoundMs: 5_000,
  livenessOperations: 5,
  checkHistory: (history) => {
    const checkStartMs = performance.now();
    const violations = historyViolations(history);
    checkMs += performance.now() - checkStartMs;
    return violations;
  },
});
const simulateMs = performance.now() - busyStartMs - checkMs;
console.log(
  `busy 7-host run (10 clients, seed 10): ${busy.virtualMs.toFixed(0)} ms simulated in ${simulateMs.toFixed(0)} ms wall ` +
    `(ratio ${(busy.virtualMs / simulateMs).toFixed(1)}x), ${busy.eventsRun} events, ${busy.okOperations} ok operations, ` +
    `${((simulateMs * 1000) / busy.eventsRun || 0).toFixed(2)} µs/event; history check ${checkMs.toFixed(0)} ms`,
);

for (const mode of ['host-events', 'settled-only', 'sync'] as const) {
  const world = pingPongWorld(mode === 'sync' ? 'settled-only' : mode);
  const startMs = performance.now();
  if (mode === 'sync') world.runForSync(20_000);
  else await world.runFor(20_000);
  const wallMs = performance.now() - startMs;
  const events = world.stats().eventsRun;
  console.log(
    `promise-free ping-pong, 7 hosts, drain policy ${mode}: ${((wallMs * 1000) / events).toFixed(2)} µs/event over ${events} events`,
  );
}
