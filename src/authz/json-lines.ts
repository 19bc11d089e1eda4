/**
 * A JSON reader that remembers the line of every value, so a rule file's errors can name the
 * line and field (SECURITY.md 60). Strict RFC 8259: no comments, no trailing commas; duplicate
 * keys are an error (two `path`s in one rule would be a silent trap).
 */

export interface JsonWithLines {
  readonly value: unknown;
  /** JSON pointer (`/0/allow/roles`) → 1-based line where that value starts. */
  readonly lines: ReadonlyMap<string, number>;
}

export class JsonSyntaxError extends Error {
  override readonly name = 'JsonSyntaxError';
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message);
  }
}

const escapePointer = (key: string): string => key.replaceAll('~', '~0').replaceAll('/', '~1');

export function parseJsonWithLines(text: string): JsonWithLines {
  const lines = new Map<string, number>();
  let i = 0;
  let line = 1;
  // A byte-order mark is tolerated (editors on some systems write one).
  if (text.charCodeAt(0) === 0xfeff) i = 1;

  const fail = (message: string): never => {
    throw new JsonSyntaxError(message, line);
  };
  const skip = (): void => {
    while (i < text.length) {
      const c = text[i];
      if (c === '\n') line++;
      else if (c !== ' ' && c !== '\t' && c !== '\r') return;
      i++;
    }
  };
  const describe = (): string => (i >= text.length ? 'the end of the file' : JSON.stringify(text[i]));

  const string = (): string => {
    const start = i;
    i++;
    while (i < text.length) {
      const c = text[i];
      if (c === '"') {
        i++;
        try {
          return JSON.parse(text.slice(start, i)) as string;
        } catch {
          return fail('invalid string (bad escape or control character)');
        }
      }
      if (c === '\\') i++;
      else if (c === '\n') fail('unterminated string');
      i++;
    }
    return fail('unterminated string');
  };

  const value = (pointer: string): unknown => {
    skip();
    lines.set(pointer, line);
    const c = text[i];
    if (c === '{') {
      i++;
      const obj: Record<string, unknown> = {};
      skip();
      if (text[i] === '}') {
        i++;
        return obj;
      }
      for (;;) {
        skip();
        if (text[i] !== '"') fail(`expected a quoted key, found ${describe()}`);
        const key = string();
        if (Object.hasOwn(obj, key)) fail(`duplicate key ${JSON.stringify(key)}`);
        skip();
        if (text[i] !== ':') fail(`expected ":" after ${JSON.stringify(key)}, found ${describe()}`);
        i++;
        obj[key] = value(`${pointer}/${escapePointer(key)}`);
        skip();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return obj;
        }
        fail(`expected "," or "}", found ${describe()}`);
      }
    }
    if (c === '[') {
      i++;
      const arr: unknown[] = [];
      skip();
      if (text[i] === ']') {
        i++;
        return arr;
      }
      for (;;) {
        arr.push(value(`${pointer}/${arr.length}`));
        skip();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return arr;
        }
        fail(`expected "," or "]", found ${describe()}`);
      }
    }
    if (c === '"') return string();
    const m = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(text.slice(i, i + 64));
    if (m === null) return fail(`unexpected ${describe()}`);
    i += m[0].length;
    return JSON.parse(m[0]) as unknown;
  };

  const result = value('');
  skip();
  if (i < text.length) fail(`unexpected ${describe()} after the end of the JSON value`);
  return { value: result, lines };
}
