/**
 * Real nginx (Debian's package) for the deploy tests: the recipes in deploy/nginx/ are rendered
 * as the templates users copy (their `${VAR}` placeholders substituted, the lines naming
 * `${GATEHOUSE_INSTANCE}` repeated once per instance) and run by a non-daemon nginx child
 * process in a temp dir, on loopback ports.
 *
 * nginx is found at /usr/sbin/nginx or on PATH; without it suites are skipped with a clear
 * message, or fail under GATEHOUSE_REQUIRE_SERVICES=1 (.ci/run installs nginx-light).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { delimiter, join } from 'node:path';

const REQUIRE_SERVICES = process.env.GATEHOUSE_REQUIRE_SERVICES === '1';

function findNginx(): string | undefined {
  const candidates = [
    '/usr/sbin/nginx',
    ...(process.env.PATH ?? '').split(delimiter).map((d) => join(d, 'nginx')),
  ];
  return candidates.find((p) => p !== '' && existsSync(p));
}

export const NGINX_BIN = findNginx();

/** Why nginx suites cannot run, or undefined; throws when services are required. */
export function nginxSkipReason(): string | undefined {
  if (NGINX_BIN) return undefined;
  const reason = 'nginx not installed (apt-get install nginx-light)';
  if (REQUIRE_SERVICES) throw new Error(`${reason} (GATEHOUSE_REQUIRE_SERVICES=1)`);
  console.warn(`[nginx] suites skipped: ${reason}`);
  return reason;
}

const INSTANCE = '$' + '{GATEHOUSE_INSTANCE}';
const PLACEHOLDER = /\$\{([A-Z][A-Z0-9_]*)\}/g;

/**
 * Renders a deploy/ template: every `${NAME}` from `vars` (all must be given), and each line that
 * names `${GATEHOUSE_INSTANCE}` once per entry of `instances`.
 */
export function renderTemplate(
  templatePath: string,
  vars: Readonly<Record<string, string>>,
  instances: readonly string[] = [],
): string {
  const out: string[] = [];
  for (const line of readFileSync(templatePath, 'utf8').split('\n')) {
    // Comments may mention placeholders (usage notes); only directives are rendered.
    if (line.trimStart().startsWith('#')) {
      out.push(line);
      continue;
    }
    const copies = line.includes(INSTANCE)
      ? instances.map((address) => line.replaceAll(INSTANCE, address))
      : [line];
    for (const copy of copies) {
      out.push(
        copy.replace(PLACEHOLDER, (_m, name: string) => {
          const value = vars[name];
          if (value === undefined) throw new Error(`${templatePath}: no value for \${${name}}`);
          return value;
        }),
      );
    }
  }
  return out.join('\n');
}

export interface RunningNginx {
  readonly dir: string;
  /** stderr so far (error_log goes there). */
  readonly stderr: () => string;
  stop(): Promise<void>;
}

/**
 * Starts nginx with `confs` (http{}-level files) in `dir`, and waits until every port in
 * `waitForPorts` accepts connections.
 */
export async function startNginx(options: {
  dir: string;
  confs: Readonly<Record<string, string>>;
  waitForPorts: readonly number[];
  workers?: number;
}): Promise<RunningNginx> {
  if (!NGINX_BIN) throw new Error('nginx is not installed');
  const { dir } = options;
  const confDir = join(dir, 'conf.d');
  const tmp = join(dir, 'tmp');
  mkdirSync(confDir, { recursive: true });
  for (const sub of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'])
    mkdirSync(join(tmp, sub), { recursive: true });
  for (const [name, text] of Object.entries(options.confs)) writeFileSync(join(confDir, name), text);
  // Workers run as the master's user here: as root nginx would switch them to `nobody`, who cannot
  // use the private temp dir.
  const user = process.getuid?.() === 0 ? 'user root;\n' : '';
  writeFileSync(
    join(dir, 'nginx.conf'),
    `${user}worker_processes ${options.workers ?? 1};
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${tmp}/body;
  proxy_temp_path ${tmp}/proxy;
  fastcgi_temp_path ${tmp}/fastcgi;
  uwsgi_temp_path ${tmp}/uwsgi;
  scgi_temp_path ${tmp}/scgi;
  types { text/html html; application/javascript js; text/css css; }
  default_type application/octet-stream;
  include ${confDir}/*.conf;
}
`,
  );
  let stderr = '';
  const child: ChildProcess = spawn(
    NGINX_BIN,
    [
      '-p',
      dir,
      '-c',
      join(dir, 'nginx.conf'),
      '-g',
      `daemon off; pid ${join(dir, 'nginx.pid')}; error_log stderr;`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let dead = false;
  void exited.then(() => {
    dead = true;
  });

  const deadline = Date.now() + 10_000;
  // Something accepting on the port is not proof that it is nginx: a port taken by another
  // process makes nginx log a bind failure while the other process answers.
  const bindFailed = () => /bind\(\) to \S+ failed/.test(stderr);
  for (const port of options.waitForPorts) {
    while (!(await accepts(port))) {
      if (dead || bindFailed()) throw new Error(`nginx could not start:\n${stderr}`);
      if (Date.now() > deadline) throw new Error(`nginx did not listen on ${port}:\n${stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  if (bindFailed()) {
    child.kill('SIGTERM');
    throw new Error(`nginx could not bind its ports:\n${stderr}`);
  }
  return {
    dir,
    stderr: () => stderr,
    async stop() {
      if (dead) return;
      child.kill('SIGTERM');
      await exited;
    },
  };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
