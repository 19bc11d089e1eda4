/**
 * The `gatehouse` command line. Exit codes: 0 success, 1 failure, 2 usage error, 78 bad configuration.
 */
import { migrate } from './migrate.js';
import { serve } from './serve.js';

const USAGE = `Usage: gatehouse <command> [options]

Commands:
  serve                 start the server (what \`npm start\` runs)
  migrate [--status]    apply pending database migrations, or list applied and pending ones

Run \`gatehouse <command> --help\` for a command's options.
`;

export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      return serve();
    case 'migrate':
      return migrate(rest);
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`Unknown command: ${command}\n\n${USAGE}`);
      return 2;
  }
}
