/**
 * The problem body as text (src/http/problem.ts): what the 401s send without per-request
 * serialisation must be, byte for byte, the problem object serialised.
 */
import { describe, expect, it } from 'vitest';
import { ERRORS, type ErrorCode } from '../../../src/errors.js';
import { problemBody, problemJson } from '../../../src/http/problem.js';

describe('problemJson', () => {
  it('is JSON.stringify(problemBody(…)) for every code, with and without detail and request id', () => {
    const details = [
      undefined,
      'This session has been signed out.',
      'quote " backslash \\ newline \n',
      'Zoë 日本 🙂',
    ];
    for (const code of Object.keys(ERRORS) as ErrorCode[]) {
      for (const detail of details) {
        for (const requestId of [undefined, 'req-1', 'r"q\\1']) {
          const expected = JSON.stringify(problemBody(code, detail, requestId));
          // Twice: the second answer comes from the remembered prefix.
          expect(problemJson(code, detail, requestId)).toBe(expected);
          expect(problemJson(code, detail, requestId)).toBe(expected);
        }
      }
    }
  });

  it('stays correct past its bound, when remembered prefixes are let go', () => {
    for (let i = 0; i < 600; i++) {
      const detail = `detail ${i}`;
      expect(JSON.parse(problemJson('bad_request', detail, `id-${i}`))).toEqual(
        problemBody('bad_request', detail, `id-${i}`),
      );
    }
    expect(problemJson('bad_request', 'detail 0')).toBe(
      JSON.stringify(problemBody('bad_request', 'detail 0')),
    );
  });
});
