// The swarm command for the systems of simworld itself (the ABD register and its deliberately
// broken variants): `tsx src/simworld/swarm/cli.ts --seeds 1000`. Flags and exit codes: see
// command.ts. The cell's entry point (src/cell/testing/sim-cli.ts, `npm run sim`) reuses it.
import { abdSystem } from '../examples/abd-system.ts';
import { swarmMain } from './command.ts';
import type { SwarmSystemEntry } from './command.ts';

const SYSTEMS: Readonly<Record<string, SwarmSystemEntry>> = {
  abd: { make: () => abdSystem() },
  // Deliberately broken variants: the swarm must fail on them (exit code 3).
  'abd-bug-accept-older-writes': { make: () => abdSystem({ bugs: { acceptOlderWrites: true } }) },
  'abd-bug-ack-before-durable': { make: () => abdSystem({ bugs: { ackBeforeDurable: true } }) },
};

swarmMain(SYSTEMS, 'abd');
