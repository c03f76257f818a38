// Writes a text file for command-line tools whose code lives outside src/runtime/ (the
// determinism rule keeps node:fs out of there): e.g. the swarm's `--history FILE`.
import { writeFileSync } from 'node:fs';

/** Writes `text` to `path` as UTF-8, replacing the file. Throws on I/O errors (outer edge). */
export function writeTextFile(path: string, text: string): void {
  writeFileSync(path, text, 'utf8');
}
