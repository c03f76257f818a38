// What a conformance suite needs from an implementation of an env interface: the object
// under test plus a way to let time pass, so one suite runs against simworld/ (virtual
// time: run the world) and runtime/ (real time: just wait).

import type { Clock, Network, Random, Storage } from '../../src/env/index.ts';

/** Builds a fresh harness per test. May be async (open a database, bind sockets). */
export type HarnessFactory<T> = () => T | Promise<T>;

export interface ClockHarness {
  readonly clock: Clock;
  /** Lets at least `ms` of this clock's monotonic time pass (real: sleep a little longer). */
  readonly advance: (ms: number) => Promise<void>;
  readonly close: () => Promise<void>;
}

export interface StorageHarness {
  readonly storage: Storage;
  /** Waits for `promise` while the implementation makes progress (sim: run the world). */
  readonly settle: <T>(promise: Promise<T>) => Promise<T>;
  /** Reopens the same store after a stop (sim: a dirty crash; real: close and reopen). */
  readonly reopen: () => Promise<Storage>;
  /** Makes later writes fail with 'disk-full', when the implementation can simulate it. */
  readonly fill?: () => void;
  readonly close: () => Promise<void>;
}

export interface NetworkHarness {
  /** At least three endpoints of distinct hosts that can all reach each other, fault-free. */
  readonly endpoints: readonly Network[];
  /** Lets `ms` pass: enough, with `deliveryMs`, for sent messages to arrive. */
  readonly advance: (ms: number) => Promise<void>;
  /** An upper bound on delivery time between these endpoints when nothing fails. */
  readonly deliveryMs: number;
  readonly close: () => Promise<void>;
}

/** Makes a generator from a seed (the real one is seeded from the OS in production). */
export type RandomFactory = (seed: number) => Random;
