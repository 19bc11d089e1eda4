/**
 * How commands talk: coloured, human lines on a terminal; one JSON document on stdout with
 * `--json`. Human errors always go to stderr, so `--json` output stays parseable. Colour follows
 * the terminal (`hasColors()` honours NO_COLOR and FORCE_COLOR) and `--no-color`.
 */

/** Exit codes scripts can rely on (docs/cli.md). 78 is sysexits' EX_CONFIG. */
export const EXIT = { ok: 0, failure: 1, usage: 2, config: 78 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export type Status = 'ok' | 'warn' | 'error' | 'info';

const CODES = { red: 31, green: 32, yellow: 33, blue: 34, dim: 2, bold: 1 } as const;
type Colour = keyof typeof CODES;

const MARKS: Record<Status, { mark: string; colour: Colour }> = {
  ok: { mark: '✓', colour: 'green' },
  warn: { mark: '!', colour: 'yellow' },
  error: { mark: '✗', colour: 'red' },
  info: { mark: '·', colour: 'blue' },
};

export interface OutputStreams {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean; hasColors?: () => boolean };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean; hasColors?: () => boolean };
}

export class Output {
  readonly json: boolean;
  readonly #colour: boolean;
  readonly #streams: OutputStreams;

  constructor(options: { json?: boolean; colour?: boolean } = {}, streams: OutputStreams = process) {
    this.json = options.json ?? false;
    this.#streams = streams;
    const tty = streams.stdout.isTTY === true && (streams.stdout.hasColors?.() ?? false);
    this.#colour = !this.json && (options.colour ?? true) && tty;
  }

  paint(colour: Colour, text: string): string {
    return this.#colour ? `\u001b[${CODES[colour]}m${text}\u001b[0m` : text;
  }

  /** A human line on stdout (nothing in JSON mode). */
  line(text = ''): void {
    if (!this.json) this.#streams.stdout.write(`${text}\n`);
  }

  /** One check or step: `✓ label  detail`. */
  status(status: Status, label: string, detail = ''): void {
    const { mark, colour } = MARKS[status];
    this.line(`${this.paint(colour, mark)} ${label}${detail ? `  ${this.paint('dim', '—')} ${detail}` : ''}`);
  }

  /** A fixed-width table of string cells (human mode only). */
  table(headers: readonly string[], rows: readonly (readonly string[])[]): void {
    if (this.json) return;
    const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
    const render = (cells: readonly string[]) =>
      cells
        .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd();
    this.line(this.paint('bold', render(headers)));
    for (const row of rows) this.line(render(row));
  }

  /** The JSON document of the command (JSON mode only). */
  data(value: unknown): void {
    if (this.json) this.#streams.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  /** An error for people, on stderr (in JSON mode too, so stdout stays clean). */
  error(message: string): void {
    const text = this.json ? JSON.stringify({ error: message }) : `${this.paint('red', 'error:')} ${message}`;
    this.#streams.stderr.write(`${text}\n`);
  }

  warn(message: string): void {
    if (!this.json) this.#streams.stderr.write(`${this.paint('yellow', 'warning:')} ${message}\n`);
  }
}

/** Dates in tables: ISO without milliseconds, `—` for none. */
export function when(date: Date | null | undefined): string {
  return date ? date.toISOString().replace(/\.\d{3}Z$/, 'Z') : '—';
}

/** The output for a command's raw arguments (before strict parsing, so usage errors honour --json). */
export function outputFor(args: readonly string[]): Output {
  return new Output({ json: args.includes('--json'), colour: !args.includes('--no-color') });
}
