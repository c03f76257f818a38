// Benchmark: generates a linearizable history (simulated register, concurrent processes,
// indeterminate operations) and times the WGL check. Run:
//   npm run bench:checkers -- [operations] [keys] [processes] [infoProbability] [seed] [functions, e.g. read,write,cas]
// Benchmarks live outside src/, so they may read the wall clock.
import { SeededRandom } from '../src/env/seeded-random.ts';
import { generateRegisterHistory } from '../src/simworld/checkers/history-generator.ts';
import { checkHistoryLinearizable } from '../src/simworld/checkers/linearizability.ts';
import type { OperationFunction } from '../src/simworld/checkers/history.ts';

function argument(index: number, fallback: number): number {
  const text = process.argv[2 + index];
  return text === undefined ? fallback : Number(text);
}

const nowMs = (): number => performance.now();

const operationCount = argument(0, 20_000);
const keyCount = argument(1, 100);
const processCount = argument(2, 8);
const indeterminateProbability = argument(3, 0.05);
const seed = argument(4, 1);
const functions = (process.argv[7] ?? 'read,write,cas,incr').split(',') as OperationFunction[];

const generateStartMs = nowMs();
const events = generateRegisterHistory(new SeededRandom(seed), {
  operationCount,
  keyCount,
  processCount,
  indeterminateProbability,
  operationDurationMsMax: 20,
  functions,
});
const generateMs = nowMs() - generateStartMs;
const infoCount = events.filter((event) => event.type === 'info').length;
const checkStartMs = nowMs();
const result = checkHistoryLinearizable(events);
const checkMs = nowMs() - checkStartMs;
console.log(
  `linearizability check: ${operationCount} operations, ${keyCount} keys, ${processCount} processes, ` +
    `${infoCount} indeterminate, functions ${functions.join('/')}, seed ${seed}: result ${result.kind}` +
    ('searchSteps' in result ? `, ${result.searchSteps} search steps` : '') +
    `; generated in ${generateMs.toFixed(0)} ms, checked in ${checkMs.toFixed(0)} ms (node ${process.version})`,
);
