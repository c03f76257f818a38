// `npm start`: the local colony in the foreground: 9 node processes on loopback (3 racks x 3
// power domains), data under ./data (or $PHYSALIA_DATA), endpoints printed, Ctrl-C stops it.
import { runForeground } from './colony-command.ts';

const data = process.env.PHYSALIA_DATA ?? './data';
const basePort =
  process.env.PHYSALIA_BASE_PORT === undefined ? undefined : Number(process.env.PHYSALIA_BASE_PORT);
process.exitCode = await runForeground({
  data,
  logLevel: process.env.PHYSALIA_LOG_LEVEL ?? 'warn',
  ...(basePort === undefined ? {} : { basePort }),
});
