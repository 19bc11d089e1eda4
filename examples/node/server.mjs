// The tutorial's protected API behind Gatehouse, in plain node:http with jose: no OAuth code.
// Every request must carry X-Gatehouse-Assertion, an ES256 JWT verified against Gatehouse's JWKS.
import { createServer } from 'node:http';
import { createRemoteJWKSet, jwtVerify } from 'jose';

const issuer = process.env.GATEHOUSE_ISSUER; // Gatehouse's PUBLIC_URL (+ route prefix)
const audience = process.env.GATEHOUSE_AUDIENCE; // this app's name, as Gatehouse puts it in "aud"
if (!issuer || !audience) throw new Error('set GATEHOUSE_ISSUER and GATEHOUSE_AUDIENCE');
// Cached, and refetched when an assertion names a kid it has not seen (key rotation).
const jwks = createRemoteJWKSet(new URL(process.env.GATEHOUSE_JWKS_URL ?? `${issuer}/.well-known/jwks.json`));

async function userOf(req) {
  const assertion = req.headers['x-gatehouse-assertion'];
  if (typeof assertion !== 'string') return null;
  try {
    const options = { issuer, audience, algorithms: ['ES256'], requiredClaims: ['exp', 'iat', 'sub'] };
    return (await jwtVerify(assertion, jwks, options)).payload;
  } catch {
    return null; // forged, expired, for another audience, or signed by an unknown key
  }
}

function send(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

createServer(async (req, res) => {
  const path = new URL(req.url ?? '/', 'http://upstream').pathname;
  if (path === '/health') return send(res, 200, { status: 'ok' });
  const user = await userOf(req);
  if (!user) return send(res, 401, { detail: 'not signed in' });
  if (path === '/chat')
    return send(res, 200, { message: 'Welcome!', user: { user_id: user.sub, user_email: user.email } });
  if (path === '/me')
    return send(res, 200, { sub: user.sub, email: user.email, name: user.name ?? null, hd: user.hd ?? null });
  return send(res, 404, { detail: 'not found' });
}).listen(Number(process.env.PORT ?? 9001), process.env.HOST ?? '127.0.0.1');
