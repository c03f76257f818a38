// `npm run bench:model`: throughput of the data model's hot path, validate + apply +
// encode (the operation as proposed and its result), for a small and a 100-key
// transaction, single-threaded, against a state of 1000 keys.
import { cpus, loadavg } from 'node:os';
import {
  apply,
  createState,
  DEFAULT_MODEL_LIMITS,
  encodeOperation,
  encodeResult,
  logIndex,
  transaction,
  validate,
} from '../src/model/index.ts';
import type { ModelLimits, ModelState, Transaction } from '../src/model/index.ts';

const MEASURE_MS = 1500;
const ROUNDS = 3;
const PREFILL_KEYS = 1000;

/** The default limits allow 64 keys per transaction; the 100-key case raises only that. */
const BENCH_LIMITS: ModelLimits = { ...DEFAULT_MODEL_LIMITS, keysPerTransactionMax: 100 };

const key = (i: number): string => `volume/vol-${String(i).padStart(5, '0')}/state`;

function prefilledState(): ModelState {
  let state = createState(BENCH_LIMITS);
  for (let start = 0; start < PREFILL_KEYS; start += 50) {
    const writes = Array.from(
      { length: 50 },
      (_, i) => ({ kind: 'put', key: key(start + i), value: 0n }) as const,
    );
    state = apply(state, transaction({ writes }), logIndex(state.appliedIndex + 1)).state;
  }
  return state;
}

/** A read, a condition and two writes (a counter and a config record): a typical control-plane update. */
function smallTransaction(i: number): Transaction {
  return transaction({
    reads: [key(i % PREFILL_KEYS)],
    conditions: [{ kind: 'compare', key: key(i % PREFILL_KEYS), comparison: 'ge', operand: 0n }],
    writes: [
      { kind: 'increment', key: key(i % PREFILL_KEYS), delta: 1n },
      { kind: 'put', key: `config/${i % PREFILL_KEYS}`, value: new Uint8Array(32) },
    ],
  });
}

/** 100 distinct keys: read all, check one, put a 32-byte value into each. */
function largeTransaction(i: number): Transaction {
  const keys = Array.from({ length: 100 }, (_, j) => key((i * 100 + j) % PREFILL_KEYS));
  return transaction({
    reads: keys,
    conditions: [{ kind: 'exists', key: keys[0] ?? '' }],
    writes: keys.map((name) => ({ kind: 'put', key: name, value: new Uint8Array(32) }) as const),
  });
}

function measure(name: string, make: (i: number) => Transaction): void {
  const transactions = Array.from({ length: 64 }, (_, i) => make(i));
  let state = prefilledState();
  const rates: number[] = [];
  let encodedBytes = 0;
  for (let round = 0; round <= ROUNDS; round++) {
    let count = 0;
    const start = performance.now();
    while (performance.now() - start < MEASURE_MS) {
      for (let k = 0; k < 16; k++, count++) {
        const operation = transactions[count % transactions.length] as Transaction;
        const validation = validate(operation, state.limits);
        if (validation.kind !== 'valid') throw new Error(validation.message);
        encodedBytes = encodeOperation(operation).length;
        const outcome = apply(state, operation, logIndex(state.appliedIndex + 1));
        if (outcome.result.kind !== 'committed') throw new Error(`unexpected ${outcome.result.kind}`);
        encodeResult(outcome.result);
        state = outcome.state;
      }
    }
    const elapsedMs = performance.now() - start;
    if (round > 0) rates.push((count / elapsedMs) * 1000); // round 0 warms up the JIT
  }
  rates.sort((a, b) => a - b);
  const median = rates[Math.floor(rates.length / 2)] ?? 0;
  const all = rates.map((rate) => Math.round(rate).toLocaleString('en-US')).join(', ');
  console.log(
    `${name}: ${Math.round(median).toLocaleString('en-US')} transactions/s (median of ${ROUNDS} rounds of ${MEASURE_MS} ms: ${all}); operation ${encodedBytes} bytes encoded`,
  );
}

console.log(
  'Physalia data model benchmark: validate + apply + encode (operation and result), per transaction',
);
console.log(
  `node ${process.version}, CPU ${cpus()[0]?.model ?? 'unknown'} (${cpus().length} cores), single-threaded (one core used)`,
);
console.log(
  `state: ${PREFILL_KEYS} keys prefilled; apply re-validates internally (poison-pill guard), so validation runs twice`,
);
console.log(
  `limits: defaults except keysPerTransactionMax raised from ${DEFAULT_MODEL_LIMITS.keysPerTransactionMax} to ${BENCH_LIMITS.keysPerTransactionMax} (explicit bench limits) for the 100-key case`,
);
console.log(
  `machine load average at start: ${loadavg()
    .map((load) => load.toFixed(2))
    .join(' ')} (other processes share the cores; figures drop under load)`,
);
measure('small transaction (1 read, 1 condition, 2 writes)', smallTransaction);
measure('100-key transaction (100 reads, 1 condition, 100 puts of 32 B)', largeTransaction);
