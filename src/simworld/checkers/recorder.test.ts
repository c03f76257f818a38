// The history recorder, JSON Lines export/import and operation pairing: shapes, assertions
// and typed errors for bad input.
import { describe, expect, it } from 'vitest';
import type { HistoryEvent } from './history.ts';
import { parseHistoryJsonLines } from './jsonl.ts';
import { operationsFromHistory } from './operations.ts';
import { HistoryRecorder } from './recorder.ts';

function sampleRecorder(): HistoryRecorder {
  const recorder = new HistoryRecorder();
  recorder.invoke(1, 'write', 'x', 'v1', 0);
  recorder.invoke(2, 'read', 'x', null, 1);
  recorder.ok(1, 2);
  recorder.ok(2, 3, 'v1');
  recorder.invoke(1, 'cas', 'x', ['v1', 'v2'], 4);
  recorder.info(1, 9);
  recorder.invoke(2, 'incr', 'n', 5, 9);
  recorder.fail(2, 10);
  return recorder;
}

describe('HistoryRecorder', () => {
  it('records invoke/ok/fail/info with the caller-given times, reads completing with the value read', () => {
    const events = sampleRecorder().events();
    expect(events.map((event) => [event.process, event.type, event.f, event.value, event.time])).toEqual([
      [1, 'invoke', 'write', 'v1', 0],
      [2, 'invoke', 'read', null, 1],
      [1, 'ok', 'write', 'v1', 2],
      [2, 'ok', 'read', 'v1', 3],
      [1, 'invoke', 'cas', ['v1', 'v2'], 4],
      [1, 'info', 'cas', ['v1', 'v2'], 9],
      [2, 'invoke', 'incr', 5, 9],
      [2, 'fail', 'incr', 5, 10],
    ]);
  });

  it('asserts one outstanding operation per process, and completions only of outstanding ones', () => {
    const recorder = new HistoryRecorder();
    recorder.invoke(1, 'write', 'x', 1, 0);
    expect(() => recorder.invoke(1, 'read', 'x', null, 1)).toThrow(/already has an operation outstanding/);
    expect(() => recorder.ok(2, 1)).toThrow(/no operation outstanding/);
    expect(recorder.outstandingProcesses()).toEqual([1]);
    recorder.ok(1, 1);
    expect(recorder.isOutstanding(1)).toBe(false);
    expect(() => recorder.ok(1, 2)).toThrow(/no operation outstanding/);
  });

  it('asserts value shapes and that time never goes backwards', () => {
    const recorder = new HistoryRecorder();
    expect(() => recorder.invoke(1, 'cas', 'x', 1, 0)).toThrow(/\[expected, new\]/);
    expect(() => recorder.invoke(1, 'incr', 'x', 'a', 0)).toThrow(/integer delta/);
    expect(() => recorder.invoke(1, 'read', 'x', 1, 0)).toThrow(/value null/);
    recorder.invoke(1, 'read', 'x', null, 5);
    expect(() => recorder.ok(1, 6)).toThrow(/completes with the value it read/);
    expect(() => recorder.ok(1, 4, null)).toThrow(/time went backwards/);
    recorder.invoke(2, 'write', 'x', 1, 6);
    expect(() => recorder.ok(2, 7, 1)).toThrow(/only a read completes with a value/);
  });

  it('enforces its bound on recorded events', () => {
    const recorder = new HistoryRecorder({ historyEventsMax: 1 });
    recorder.invoke(1, 'write', 'x', 1, 0);
    expect(() => recorder.ok(1, 1)).toThrow(/more than 1 events/);
  });
});

describe('JSON Lines', () => {
  it("exports one event per line in exactly the issue's shape and field order", () => {
    const lines = sampleRecorder().toJsonLines().split('\n');
    expect(lines[0]).toBe('{"process":1,"type":"invoke","f":"write","key":"x","value":"v1","time":0}');
    expect(lines[3]).toBe('{"process":2,"type":"ok","f":"read","key":"x","value":"v1","time":3}');
    expect(lines[5]).toBe('{"process":1,"type":"info","f":"cas","key":"x","value":["v1","v2"],"time":9}');
    expect(lines).toHaveLength(9);
    expect(lines[8]).toBe('');
  });

  it('round-trips a history', () => {
    const recorder = sampleRecorder();
    const parsed = parseHistoryJsonLines(recorder.toJsonLines());
    expect(parsed).toEqual({ kind: 'ok', events: recorder.events() });
  });

  const valid = '{"process":1,"type":"invoke","f":"write","key":"x","value":1,"time":0}';
  const badLines: [string, string, RegExp][] = [
    ['invalid-json', '{"process":1,', /JSON/],
    ['invalid-event', '[1,2]', /JSON object/],
    ['invalid-event', valid.replace('"process":1', '"process":-1'), /process/],
    ['invalid-event', valid.replace('"process":1', '"process":1.5'), /process/],
    ['invalid-event', valid.replace('"invoke"', '"done"'), /type/],
    ['invalid-event', valid.replace('"write"', '"delete"'), /"f"/],
    ['invalid-event', valid.replace('"key":"x"', '"key":3'), /key/],
    ['invalid-event', valid.replace('"time":0', '"time":"now"'), /time/],
    ['invalid-event', valid.replace('"time":0', '"time":0,"extra":1'), /unknown field "extra"/],
    ['invalid-event', valid.replace('"value":1', '"value":{"a":1}'), /write value/],
    ['invalid-event', valid.replace('"write"', '"cas"'), /\[expected, new\]/],
    [
      'invalid-event',
      valid.replace('"write"', '"incr"').replace('"value":1', '"value":1.5'),
      /integer delta/,
    ],
    ['invalid-event', valid.replace('"write"', '"read"'), /read is invoked with value null/],
    ['invalid-event', valid.replace(',"time":0', ''), /time/],
  ];
  it.each(badLines)('answers a typed %s error for a bad line: %s', (kind, line, message) => {
    const parsed = parseHistoryJsonLines(`${valid}\n${line}\n`);
    if (parsed.kind !== 'error') throw new Error('expected an error');
    expect(parsed.error.kind).toBe(kind);
    expect(parsed.error.line).toBe(2);
    expect(parsed.error.message).toMatch(message);
  });

  it('answers a typed error when time goes backwards, and skips blank lines', () => {
    const earlier = valid.replace('"time":0', '"time":-1').replace('"process":1', '"process":2');
    expect(parseHistoryJsonLines(`${valid}\n\n${earlier}`)).toMatchObject({
      kind: 'error',
      error: { kind: 'time-goes-backwards', line: 3 },
    });
    expect(parseHistoryJsonLines(`\n${valid}\n\n`)).toMatchObject({ kind: 'ok', events: [{ process: 1 }] });
  });
});

describe('operationsFromHistory', () => {
  const invoke: HistoryEvent = { process: 1, type: 'invoke', f: 'write', key: 'x', value: 1, time: 0 };

  it('pairs invokes with completions, and counts an invoke that never completes as indeterminate', () => {
    const paired = operationsFromHistory([
      invoke,
      { ...invoke, type: 'ok', time: 2 },
      { ...invoke, time: 3 },
    ]);
    if (paired.kind !== 'ok') throw new Error(paired.error.message);
    expect(paired.operations).toMatchObject([
      { id: 0, status: 'ok', invokePosition: 0, completePosition: 1, invokeTimeMs: 0, completeTimeMs: 2 },
      { id: 1, status: 'info', invokePosition: 2, completePosition: Infinity, completeTimeMs: Infinity },
    ]);
  });

  it('answers typed errors for malformed histories', () => {
    expect(operationsFromHistory([{ ...invoke, type: 'ok' }])).toMatchObject({
      kind: 'error',
      error: { kind: 'completion-without-invoke', position: 0 },
    });
    expect(operationsFromHistory([invoke, invoke])).toMatchObject({
      error: { kind: 'invoke-while-outstanding', position: 1 },
    });
    expect(operationsFromHistory([invoke, { ...invoke, type: 'ok', key: 'y' }])).toMatchObject({
      error: { kind: 'completion-mismatch', position: 1 },
    });
    expect(operationsFromHistory([invoke, { ...invoke, type: 'ok', value: 2 }])).toMatchObject({
      error: { kind: 'completion-mismatch' },
    });
  });
});
