import { describe, expect, it } from 'vitest';
import {
  isLoopbackHost,
  type Parsed,
  parseBoolean,
  parseDatabaseUrl,
  parseDomain,
  parseDuration,
  parseEmail,
  parseInteger,
  parseList,
  parseOrigin,
  parsePort,
  parseRateLimit,
  parseRedisUrl,
  parseTrustProxy,
  redactUrl,
} from '../../../src/config/parse.js';

function value<T>(parsed: Parsed<T>): T {
  if (!parsed.ok) throw new Error(`expected success, got: ${parsed.message}`);
  return parsed.value;
}

function message<T>(parsed: Parsed<T>): string {
  if (parsed.ok) throw new Error(`expected failure, got: ${JSON.stringify(parsed.value)}`);
  return parsed.message;
}

describe('parseDuration', () => {
  it.each([
    ['30s', 30],
    ['15m', 900],
    ['24h', 86_400],
    ['7d', 604_800],
    ['45', 45],
    [' 2H ', 7200],
  ])('%j is %i seconds', (raw, seconds) => {
    expect(value(parseDuration(raw))).toBe(seconds);
  });

  it.each(['-5s', '-1', '1.5h', '10x', 's', '', '1 day', 'ten', '1e3', '0x10'])('rejects %j', (raw) => {
    expect(message(parseDuration(raw))).toMatch(/30s, 15m, 24h, 7d/);
  });

  it('rejects zero unless allowed', () => {
    expect(message(parseDuration('0s'))).toMatch(/longer than zero/);
    expect(value(parseDuration('0', { allowZero: true }))).toBe(0);
  });

  it('rejects values too large to be exact', () => {
    expect(message(parseDuration('99999999999999999d'))).toMatch(/too large/);
  });
});

describe('parseList', () => {
  it('trims entries and drops empty ones', () => {
    expect(parseList(' a , b,,c , ,')).toEqual(['a', 'b', 'c']);
    expect(parseList(' , ')).toEqual([]);
  });
});

describe('parseRateLimit', () => {
  it('reads MAX/WINDOW', () => {
    expect(value(parseRateLimit('30/1m'))).toEqual({ max: 30, windowSeconds: 60 });
    expect(value(parseRateLimit('600 / 60'))).toEqual({ max: 600, windowSeconds: 60 });
    expect(value(parseRateLimit('5/1h'))).toEqual({ max: 5, windowSeconds: 3600 });
  });

  it.each([
    ['30', /MAX\/WINDOW/],
    ['0/1m', /at least 1/],
    ['30/0s', /window/],
    ['30/soon', /window/],
    ['-3/1m', /MAX\/WINDOW/],
  ])('rejects %j', (raw, pattern) => {
    expect(message(parseRateLimit(raw))).toMatch(pattern);
  });
});

describe('parseInteger, parsePort, parseBoolean', () => {
  it('accepts integers in range and rejects the rest', () => {
    expect(value(parseInteger('10', 1, 1000))).toBe(10);
    expect(message(parseInteger('0', 1, 1000))).toMatch(/out of range: use 1 to 1000/);
    expect(message(parseInteger('1.5', 1, 1000))).toMatch(/not a whole number/);
    expect(message(parseInteger('-2', 1, 1000))).toMatch(/not a whole number/);
  });

  it('accepts ports 0..65535', () => {
    expect(value(parsePort('0'))).toBe(0);
    expect(value(parsePort('65535'))).toBe(65_535);
    expect(message(parsePort('65536'))).toMatch(/0 to 65535/);
    expect(message(parsePort('http'))).toMatch(/not a port/);
  });

  it('reads booleans', () => {
    expect(value(parseBoolean('TRUE'))).toBe(true);
    expect(value(parseBoolean('off'))).toBe(false);
    expect(message(parseBoolean('maybe'))).toMatch(/true or false/);
  });
});

describe('parseOrigin', () => {
  it.each([
    ['https://App.Example.com', 'https://app.example.com'],
    ['https://app.example.com:443', 'https://app.example.com'],
    ['http://localhost:3000/', 'http://localhost:3000'],
    ['http://[::1]:8080', 'http://[::1]:8080'],
  ])('normalises %j to %j', (raw, origin) => {
    expect(value(parseOrigin(raw))).toBe(origin);
  });

  it.each([
    ['*', /credentials/],
    ['null', /null/],
    ['https://app.example.com/path', /not an origin/],
    ['https://app.example.com?x=1', /not an origin/],
    ['https://user:pw@app.example.com', /user name or password/],
    ['app.example.com', /not an origin/],
    ['ftp://files.example.com', /http or https/],
    ['javascript://alert(1)', /not an origin|http or https/],
  ])('rejects %j', (raw, pattern) => {
    expect(message(parseOrigin(raw))).toMatch(pattern);
  });

  it('never echoes a password it rejects', () => {
    expect(message(parseOrigin('https://user:hunter2@app.example.com'))).not.toContain('hunter2');
  });
});

describe('parseTrustProxy', () => {
  it('accepts addresses, CIDRs and loopback', () => {
    expect(value(parseTrustProxy('10.0.0.1, 192.168.0.0/16,fd00::/8'))).toEqual([
      '10.0.0.1',
      '192.168.0.0/16',
      'fd00::/8',
    ]);
    expect(value(parseTrustProxy('loopback'))).toEqual(['127.0.0.1/8', '::1']);
    expect(value(parseTrustProxy('loopback, 127.0.0.1/8'))).toEqual(['127.0.0.1/8', '::1']);
  });

  it.each(['true', 'TRUE', '*', 'all', '0.0.0.0/0', '::/0', '10.0.0.0/0'])(
    'refuses %j: never "everything"',
    (raw) => {
      expect(message(parseTrustProxy(raw))).toMatch(/TRUST_PROXY never means "everything"/);
    },
  );

  it.each([
    ['proxy.internal', /not an IP address or CIDR/],
    ['10.0.0.1/33', /prefix/],
    ['::1/129', /prefix/],
    ['10.0.0.1/x', /prefix/],
    ['300.1.1.1', /not an IP address/],
  ])('rejects %j', (raw, pattern) => {
    expect(message(parseTrustProxy(raw))).toMatch(pattern);
  });

  it('reports every bad entry in one message', () => {
    const text = message(parseTrustProxy('10.0.0.1, bogus, *'));
    expect(text).toContain('"bogus"');
    expect(text).toContain('"*"');
  });
});

describe('domains, emails and loopback hosts', () => {
  it('lower-cases domains and refuses wildcards and leading dots or @', () => {
    expect(value(parseDomain('Example.COM'))).toBe('example.com');
    for (const raw of ['*.example.com', '.example.com', '@example.com', 'exa mple.com', 'example..com']) {
      expect(message(parseDomain(raw))).toMatch(/not a domain name/);
    }
  });

  it('lower-cases emails and refuses non-addresses', () => {
    expect(value(parseEmail('Ada@Example.com'))).toBe('ada@example.com');
    for (const raw of ['ada', '@example.com', 'ada@', 'a b@example.com', 'ada@exa_mple.com']) {
      expect(message(parseEmail(raw))).toMatch(/not an email address/);
    }
  });

  it('knows loopback hosts', () => {
    for (const host of ['127.0.0.1', '127.9.9.9', '::1', '[::1]', 'localhost', 'LOCALHOST', 'a.localhost']) {
      expect(isLoopbackHost(host), host).toBe(true);
    }
    for (const host of ['128.0.0.1', '10.0.0.1', '::2', 'localhost.example.com', 'example.com', '0.0.0.0']) {
      expect(isLoopbackHost(host), host).toBe(false);
    }
  });
});

describe('parseDatabaseUrl and parseRedisUrl', () => {
  it('recognises each kind', () => {
    expect(value(parseDatabaseUrl('sqlite:./data/x.db'))).toMatchObject({
      kind: 'sqlite',
      sqlitePath: './data/x.db',
    });
    expect(value(parseDatabaseUrl('sqlite::memory:'))).toMatchObject({
      kind: 'sqlite',
      sqlitePath: ':memory:',
    });
    expect(value(parseDatabaseUrl('sqlite:/var/lib/g.db'))).toMatchObject({ sqlitePath: '/var/lib/g.db' });
    expect(value(parseDatabaseUrl('mysql://root@127.0.0.1:3306/test'))).toMatchObject({ kind: 'mysql' });
    expect(value(parseDatabaseUrl('mariadb://root@127.0.0.1/test'))).toMatchObject({ kind: 'mysql' });
    expect(value(parseDatabaseUrl('postgres://u@h/db'))).toMatchObject({
      kind: 'postgres',
      sqlitePath: undefined,
    });
    expect(value(parseDatabaseUrl('postgresql://u@h/db'))).toMatchObject({ kind: 'postgres' });
  });

  it('keeps the URL and redacts its password', () => {
    const parsed = value(parseDatabaseUrl('postgres://app:s3cr%40t@db.internal:5432/gate?sslmode=require'));
    expect(parsed.url).toBe('postgres://app:s3cr%40t@db.internal:5432/gate?sslmode=require');
    expect(parsed.redactedUrl).toBe('postgres://app:***@db.internal:5432/gate?sslmode=require');
    expect(redactUrl('postgres://h/db?password=hunter2')).toBe('postgres://h/db?password=***');
  });

  it.each([
    ['oracle://u:hunter2@h/x', /unsupported scheme/],
    ['sqlite:', /names no file/],
    ['sqlite:///tmp/x.db', /sqlite:\/\/ form is not used/],
    ['mysql://', /names no host/],
    ['just words', /not a database URL/],
  ])('rejects %j', (raw, pattern) => {
    const text = message(parseDatabaseUrl(raw));
    expect(text).toMatch(pattern);
    expect(text).not.toContain('hunter2');
  });

  it('accepts redis:// and rediss:// only', () => {
    expect(value(parseRedisUrl('rediss://:pw@cache:6380/1')).redactedUrl).toBe('rediss://:***@cache:6380/1');
    expect(message(parseRedisUrl('http://cache:6379'))).toMatch(/redis:\/\/ or rediss:\/\//);
  });
});
