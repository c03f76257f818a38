// The determinism rule of DESIGN.md as an ESLint config block: outside src/runtime/,
// nothing reads the wall clock, timers, global randomness, the network or the file
// system directly; each message names what to use instead (the env/ interfaces).
// Kept in its own module so test/lint can prove that the rule fires.

const clock = 'use the injected Clock from src/env/ (clock.nowMs(), clock.setTimer())';
const random = 'use the injected seeded Random from src/env/';
const io = 'use the Network/Storage interfaces from src/env/; only src/runtime/ touches the OS';

const bannedModules = [
  ['net', io],
  ['fs', io],
  ['fs/promises', io],
  ['dgram', io],
  ['timers', clock],
  ['timers/promises', clock],
  ['child_process', io],
  ['http', io],
  ['worker_threads', io],
];

/** @type {import('eslint').Linter.RulesRecord} */
export const determinismRules = {
  'no-restricted-globals': [
    'error',
    { name: 'Date', message: `Date reads the wall clock: ${clock}.` },
    { name: 'setTimeout', message: `Timers are not deterministic: ${clock}.` },
    { name: 'setInterval', message: `Timers are not deterministic: ${clock}.` },
    { name: 'setImmediate', message: `Timers are not deterministic: ${clock}.` },
    { name: 'clearTimeout', message: `Timers are not deterministic: ${clock}.` },
    { name: 'clearInterval', message: `Timers are not deterministic: ${clock}.` },
    { name: 'clearImmediate', message: `Timers are not deterministic: ${clock}.` },
    { name: 'performance', message: `performance reads the wall clock: ${clock}.` },
  ],
  'no-restricted-properties': [
    'error',
    { object: 'Math', property: 'random', message: `Math.random is global randomness: ${random}.` },
    {
      object: 'crypto',
      property: 'randomUUID',
      message: `crypto.randomUUID is global randomness: ${random}.`,
    },
    {
      object: 'crypto',
      property: 'randomBytes',
      message: `crypto.randomBytes is global randomness: ${random}.`,
    },
    { object: 'crypto', property: 'randomInt', message: `crypto.randomInt is global randomness: ${random}.` },
    {
      object: 'crypto',
      property: 'getRandomValues',
      message: `crypto.getRandomValues is global randomness: ${random}.`,
    },
    { object: 'process', property: 'hrtime', message: `process.hrtime reads the wall clock: ${clock}.` },
    { object: 'performance', property: 'now', message: `performance.now reads the wall clock: ${clock}.` },
  ],
  'no-restricted-imports': [
    'error',
    {
      paths: [
        ...bannedModules.flatMap(([name, message]) => [
          { name, message: `'${name}' is I/O or time: ${message}.` },
          { name: `node:${name}`, message: `'node:${name}' is I/O or time: ${message}.` },
        ]),
        ...['crypto', 'node:crypto'].map((name) => ({
          name,
          importNames: [
            'randomBytes',
            'randomInt',
            'randomUUID',
            'getRandomValues',
            'randomFill',
            'randomFillSync',
            'webcrypto',
          ],
          message: `Global randomness: ${random}.`,
        })),
        ...['perf_hooks', 'node:perf_hooks'].map((name) => ({
          name,
          message: `perf_hooks reads the wall clock: ${clock}.`,
        })),
      ],
    },
  ],
};

/** Files the rule applies to: all sources except the real runtime. */
export const determinismBlock = {
  files: ['src/**/*.ts'],
  ignores: ['src/runtime/**'],
  rules: determinismRules,
};
