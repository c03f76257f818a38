// The OS as the CLI's outer edge sees it: files of the local colony (config, pid files, logs),
// spawning and signalling node processes, and waiting. Lives in runtime/, the only layer
// allowed to touch the OS, so src/cli/ stays free of direct I/O.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  openSync,
  closeSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export type { ChildProcess };

/** The `physalia` entry (src/cli/main.ts), run by the node processes of the colony. */
export const mainScript = join(import.meta.dirname, '../cli/main.ts');
export const repoRoot = resolve(import.meta.dirname, '../..');

export function readJsonFile(path: string): unknown {
  return JSON.parse(readFileSync(path, 'utf8')) as unknown;
}

export function writeJsonFile(path: string, value: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`, 'utf8');
}

export function fileExists(path: string): boolean {
  return existsSync(path);
}

export function makeDirectory(path: string): void {
  mkdirSync(path, { recursive: true });
}

export function removeFile(path: string): void {
  rmSync(path, { force: true });
}

export function writeTextFile(path: string, text: string): void {
  writeFileSync(path, text, 'utf8');
}

export function readTextFile(path: string): string | undefined {
  return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
}

/**
 * Starts `physalia <args>` as a child process with stdout and stderr appended to `logPath`.
 * `detached`: in its own process group, not waited for (colony up); otherwise a child of this
 * process (npm start), stopped by the caller.
 */
export function spawnPhysalia(args: readonly string[], logPath: string, detached: boolean): ChildProcess {
  mkdirSync(dirname(logPath), { recursive: true });
  const log = openSync(logPath, 'a');
  try {
    const child = spawn(process.execPath, ['--import', 'tsx', mainScript, ...args], {
      cwd: repoRoot,
      stdio: ['ignore', log, log],
      detached,
    });
    if (detached) child.unref();
    return child;
  } finally {
    closeSync(log);
  }
}

/** True when a process with this id exists (signal 0 checks without signalling). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error: unknown) {
    return (error as { code?: unknown }).code === 'EPERM';
  }
}

export function signalProcess(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

export function sleepMs(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

/** True when the module at `moduleUrl` is the script this process was started with (symlinks resolved, as npx and npm bin links use them). */
export function isMainModule(moduleUrl: string): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(moduleUrl));
  } catch {
    return false;
  }
}
