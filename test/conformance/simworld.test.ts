// Runs every env conformance suite against the simulated implementations of simworld/.
import { SeededRandom } from '../../src/env/index.ts';
import type { Network } from '../../src/env/index.ts';
import { constant, sim } from '../../src/simworld/index.ts';
import type { SimHostEnv } from '../../src/simworld/index.ts';
import { clockConformance } from './clock.conformance.ts';
import { networkConformance } from './network.conformance.ts';
import { randomConformance } from './random.conformance.ts';
import { storageConformance } from './storage.conformance.ts';

function world(seed: number, hosts: number) {
  const envs = new Map<string, SimHostEnv>();
  const w = sim({
    seed,
    hosts,
    boot: (env) => {
      envs.set(env.host, env);
      return {};
    },
  });
  return { w, env: (name: string): SimHostEnv => envs.get(name)! };
}

randomConformance('SeededRandom', (seed) => new SeededRandom(seed));

clockConformance('SimClock', () => {
  const { w, env } = world(1, 1);
  return { clock: env('n1').clock, advance: (ms) => w.runFor(ms), close: () => Promise.resolve() };
});

clockConformance('SimClock running at 1.7x with a wall jump back', () => {
  const { w, env } = world(2, 1);
  w.clock('n1').rate(1.7);
  w.clock('n1').jump(-3_600_000);
  return { clock: env('n1').clock, advance: (ms) => w.runFor(ms), close: () => Promise.resolve() };
});

storageConformance(
  'SimStorage',
  () => {
    const { w, env } = world(3, 1);
    w.disk('n1').syncLatency(constant(5));
    return {
      storage: env('n1').storage,
      settle: (promise) => w.settle(promise),
      reopen: () => {
        w.crash('n1');
        w.restart('n1');
        return Promise.resolve(env('n1').storage);
      },
      fill: () => w.disk('n1').full(),
      close: () => Promise.resolve(),
    };
  },
  { canFill: true },
);

networkConformance('SimNetwork', () => {
  const { w, env } = world(4, 3);
  const endpoints: Network[] = ['n1', 'n2', 'n3'].map((name) => env(name).network);
  return { endpoints, deliveryMs: 10, advance: (ms) => w.runFor(ms), close: () => Promise.resolve() };
});
