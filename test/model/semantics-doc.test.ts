// Keeps docs/semantics.md honest: every row id in its tables names a test in src/model/
// whose title starts with that id, so no documented outcome goes untested.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const docs = readFileSync(new URL('../../docs/semantics.md', import.meta.url), 'utf8');
const modelDir = new URL('../../src/model/', import.meta.url);
const testSources = readdirSync(modelDir)
  .filter((name) => name.endsWith('.test.ts'))
  .map((name) => readFileSync(new URL(name, modelDir), 'utf8'))
  .join('\n');

const rowIds = [...docs.matchAll(/^\| ([A-Z]-\d+) /gm)].map((match) => match[1] ?? '');

describe('docs/semantics.md', () => {
  it('has rows', () => {
    expect(rowIds.length).toBeGreaterThan(50);
  });

  it('has a test for every row', () => {
    const untested = rowIds.filter((id) => !new RegExp(`(it|test)\\(\\s*['\`"]${id}\\b`).test(testSources));
    expect(untested).toEqual([]);
  });
});
