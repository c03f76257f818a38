// `npm run bench:transport [-- --round-trips N --seconds S --payload-bytes B]`: TcpNetwork
// frame round trip between two processes on loopback with HMAC-SHA256 on (one message in
// flight: p50/p99), pipelined echo throughput (64 in flight), and HMAC sign+verify cost.
import { spawn } from 'node:child_process';
import { createHmac, createSecretKey, randomBytes } from 'node:crypto';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { hostId } from '../src/env/index.ts';
import { AddressBook } from '../src/runtime/address-book.ts';
import { Keyring } from '../src/runtime/keyring.ts';
import { TcpNetwork } from '../src/runtime/tcp-network.ts';

const { values: flags } = parseArgs({
  options: {
    'round-trips': { type: 'string', default: '20000' },
    seconds: { type: 'string', default: '3' },
    'payload-bytes': { type: 'string', default: '200' },
  },
});
const roundTrips = Number(flags['round-trips']);
const seconds = Number(flags.seconds);
const payloadBytes = Number(flags['payload-bytes']);
const pipelineDepth = 64;

function hmacCostMicroseconds(): number {
  const key = createSecretKey(randomBytes(32));
  const message = randomBytes(payloadBytes + 20);
  const iterations = 100_000;
  const startedAt = performance.now();
  for (let i = 0; i < iterations; i += 1) createHmac('sha256', key).update(message).digest();
  return ((performance.now() - startedAt) * 1000) / iterations;
}

const secret = randomBytes(32);
const addressBook = new AddressBook();
const client = await TcpNetwork.start({
  self: hostId('bench-client'),
  listen: { host: '127.0.0.1', port: 0 },
  addressBook,
  keyring: Keyring.fromSecrets('bench', { bench: secret }),
});
const child = spawn(
  process.execPath,
  [
    '--import',
    'tsx',
    join(import.meta.dirname, 'transport-echo.ts'),
    String(client.address.port),
    secret.toString('base64'),
  ],
  { stdio: ['pipe', 'pipe', 'inherit'] },
);
const echoPort = await new Promise<number>((resolve) => {
  child.stdout.on('data', (chunk: Buffer) => {
    const match = /port (\d+)/.exec(chunk.toString());
    if (match !== null) resolve(Number(match[1]));
  });
});
const echo = hostId('bench-echo');
addressBook.set(echo, { host: '127.0.0.1', port: echoPort });

let onEcho: () => void = () => undefined;
client.onReceive(() => onEcho());
const payload = new Uint8Array(payloadBytes).fill(1);

async function pingPong(count: number): Promise<Float64Array> {
  const latencies = new Float64Array(count);
  for (let i = 0; i < count; i += 1) {
    const sentAt = performance.now();
    await new Promise<void>((resolve) => {
      onEcho = resolve;
      client.send(echo, payload);
    });
    latencies[i] = performance.now() - sentAt;
  }
  return latencies.sort();
}

async function pipelined(): Promise<number> {
  let received = 0;
  let inFlight = pipelineDepth;
  const deadline = performance.now() + seconds * 1000;
  const startedAt = performance.now();
  await new Promise<void>((resolve) => {
    onEcho = () => {
      received += 1;
      inFlight -= 1;
      if (performance.now() < deadline) {
        inFlight += 1;
        client.send(echo, payload);
      } else if (inFlight === 0) resolve();
    };
    for (let i = 0; i < pipelineDepth; i += 1) client.send(echo, payload);
  });
  return received / ((performance.now() - startedAt) / 1000);
}

const at = (sorted: Float64Array, p: number): string =>
  ((sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN) * 1000).toFixed(
    0,
  );

console.log(
  `TcpNetwork, two processes on loopback, HMAC-SHA256 on, ${payloadBytes}-byte payloads, ` +
    `${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'})`,
);
console.log(
  `HMAC-SHA256 of one ${payloadBytes + 20}-byte frame body: ${hmacCostMicroseconds().toFixed(2)} us`,
);
await pingPong(2000); // warm-up: connections, JIT
const latencies = await pingPong(roundTrips);
console.log(
  `round trip, 1 in flight, ${roundTrips} trips: p50 ${at(latencies, 50)} us  p99 ${at(latencies, 99)} us  ` +
    `p99.9 ${at(latencies, 99.9)} us`,
);
const rate = await pipelined();
console.log(`echo throughput, ${pipelineDepth} in flight, ${seconds} s: ${Math.round(rate)} round trips/s`);
console.log(`client counters: ${JSON.stringify(client.counters())}`);
child.stdin.end();
await client.close();
