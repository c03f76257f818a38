// Proves the determinism lint rule (DESIGN.md "Only runtime/ may touch ...") fires on every
// banned use outside src/runtime/, names the replacement, and stays quiet inside runtime/.
import { readFileSync } from 'node:fs';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';
import { determinismRules } from '../../eslint.determinism.js';

const fixture = readFileSync(new URL('./fixtures/banned-calls.ts', import.meta.url), 'utf8');

function linter(): ESLint {
  return new ESLint({
    overrideConfigFile: true,
    overrideConfig: [
      {
        files: ['src/**/*.ts'],
        ignores: ['src/runtime/**'],
        languageOptions: { parser: tseslint.parser },
        rules: determinismRules,
      },
    ],
  });
}

describe('determinism lint rule', () => {
  it('reports every banned clock, randomness and I/O use outside src/runtime/', async () => {
    const [result] = await linter().lintText(fixture, { filePath: 'src/model/example.ts' });
    const messages = result?.messages ?? [];
    const lines = new Set(messages.map((m) => m.line));
    // Lines 2-5 are banned imports; 7-12 banned calls.
    for (const line of [2, 3, 4, 5, 7, 8, 9, 10, 11, 12]) expect(lines, `line ${line}`).toContain(line);
    expect(messages.every((m) => m.severity === 2)).toBe(true);
    const text = messages.map((m) => m.message).join('\n');
    expect(text).toContain('use the injected Clock from src/env/');
    expect(text).toContain('use the injected seeded Random from src/env/');
    expect(text).toContain('use the Network/Storage interfaces from src/env/');
  });

  it('allows the same code inside src/runtime/', async () => {
    const results = await linter().lintText(fixture, { filePath: 'src/runtime/example.ts' });
    // Outside the rule's files ESLint reports the file as ignored, with no rule messages.
    const ruleMessages = results.flatMap((r) => r.messages).filter((m) => m.ruleId !== null);
    expect(ruleMessages).toEqual([]);
  });
});
