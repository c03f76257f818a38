// `npm run sim`: the simworld swarm command with the real cell as its default system (and the
// ABD register as `--system register`). Flags and exit codes are the swarm command's
// (src/simworld/swarm/command.ts): `--seeds N [--first-seed S]`, `--seed N`, `--history FILE`,
// `--self-check`; exit 1 crash, 2 liveness, 3 correctness, 4 nondeterminism, 64 usage.
import { abdSystem } from '../../simworld/examples/abd-system.ts';
import { swarmMain } from '../../simworld/swarm/command.ts';
import type { SwarmSystemEntry } from '../../simworld/swarm/command.ts';
import { CELL_SWARM_RUN, cellSystem } from './swarm-cell-system.ts';

const register: SwarmSystemEntry = { make: () => abdSystem() };

const SYSTEMS: Readonly<Record<string, SwarmSystemEntry>> = {
  cell: { make: () => cellSystem(), ...CELL_SWARM_RUN },
  register,
  abd: register,
  // Deliberately broken registers: the swarm must fail on them (exit code 3).
  'abd-bug-accept-older-writes': { make: () => abdSystem({ bugs: { acceptOlderWrites: true } }) },
  'abd-bug-ack-before-durable': { make: () => abdSystem({ bugs: { ackBeforeDurable: true } }) },
};

swarmMain(SYSTEMS, 'cell');
