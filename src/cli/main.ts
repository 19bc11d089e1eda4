/**
 * The `gatehouse` command line: one file per command, this one dispatches.
 * Exit codes (docs/cli.md): 0 success, 1 failure or failed check, 2 usage error, 78 bad configuration.
 */
import { EXIT, type ExitCode } from './output.js';

type Run = (args: readonly string[]) => Promise<ExitCode>;

// Each command is imported only when run: `users list` need not load Fastify and the
// development provider, which keeps every command quick to start.
const COMMANDS: Record<string, { load: () => Promise<Run>; summary: string }> = {
  serve: {
    load: async () => (await import('./serve.js')).serve,
    summary: 'start the server (what `npm start` runs)',
  },
  init: {
    load: async () => (await import('./init.js')).init,
    summary: 'write a .env with generated secrets',
  },
  doctor: {
    load: async () => (await import('./doctor.js')).doctor,
    summary: 'check the configuration, Google setup, provider, cookie and database',
  },
  migrate: {
    load: async () => (await import('./migrate.js')).migrate,
    summary: 'apply pending database migrations (--status to list)',
  },
  users: {
    load: async () => (await import('./users.js')).users,
    summary: 'list, show, disable or enable users; grant or take away roles',
  },
  sessions: {
    load: async () => (await import('./sessions.js')).sessions,
    summary: 'list, revoke or purge sessions',
  },
  keys: {
    load: async () => (await import('./keys.js')).keys,
    summary: 'list or rotate the identity assertion signing keys',
  },
  rules: {
    load: async () => (await import('./rules.js')).rules,
    summary: 'check ACCESS_RULES_FILE, or explain which rule a request hits',
  },
  events: {
    load: async () => (await import('./events.js')).events,
    summary: 'show or purge the audit trail',
  },
  dev: {
    load: async () => (await import('./dev.js')).dev,
    summary: 'development helpers: id-token (an ID token from the development provider)',
  },
};

export const USAGE = `Usage: gatehouse <command> [options]

Commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`)
  .join('\n')}

Every command takes --help. Configuration comes from the environment and .env in the
current directory (docs/configuration.md). Exit codes: 0 ok, 1 failure, 2 usage, 78 configuration.
`;

export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined) {
    process.stderr.write(USAGE);
    return EXIT.usage;
  }
  if (command === '--help' || command === '-h' || command === 'help') {
    const topic = rest[0];
    const entry = topic !== undefined && Object.hasOwn(COMMANDS, topic) ? COMMANDS[topic] : undefined;
    if (entry !== undefined) return (await entry.load())(['--help']);
    process.stdout.write(USAGE);
    return EXIT.ok;
  }
  if (command === '--version' || command === '-v') {
    process.stdout.write('gatehouse 0.1.0\n');
    return EXIT.ok;
  }
  const entry = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (entry === undefined) {
    process.stderr.write(`Unknown command: ${command}\n\n${USAGE}`);
    return EXIT.usage;
  }
  return (await entry.load())(rest);
}
