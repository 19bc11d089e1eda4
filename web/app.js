// The demo page: plain DOM, no framework, no inline script (the page runs under
// `script-src 'self'`). Every value from the server is written with textContent or a DOM
// property, never innerHTML, so hostile profile fields and messages stay text.

/**
 * Messages for `?auth_error=CODE`: exactly the codes /auth redirects with (SIGN_IN_REDIRECT_CODES in
 * src/errors.ts; a test keeps them equal). Provider, rate-limit and availability failures are
 * answered by /auth with a status page, not a redirect; an unknown code gets the generic message.
 */
const AUTH_ERRORS = {
  access_denied: [
    'Sign-in cancelled',
    'You cancelled the sign-in, or the provider refused it. Nothing was changed.',
  ],
  login_expired: [
    'Sign-in attempt expired',
    'That sign-in took too long or was opened in another browser. Please start again.',
  ],
  login_failed: [
    'Sign-in failed',
    'The answer from the sign-in provider could not be verified. Please try again.',
  ],
  forbidden_domain: [
    'Account not allowed',
    'This account is not allowed to sign in here. Use an account from an allowed organisation.',
  ],
  email_not_verified: [
    'Email not verified',
    'Your provider has not verified this email address, so it cannot be used to sign in.',
  ],
  user_disabled: ['Account disabled', 'This account has been disabled by an administrator.'],
};
const SESSION_ENDED = [
  'You have been signed out',
  'Your session ended or was signed out from another device.',
];

const $ = (id) => document.getElementById(id);

async function api(path, options = {}) {
  const response = await fetch(path, { credentials: 'same-origin', ...options });
  const type = response.headers.get('content-type') ?? '';
  const body = type.includes('json') ? await response.json() : null;
  return { status: response.status, body };
}

function showAlert([title, text]) {
  $('auth-error-title').textContent = title;
  $('auth-error-text').textContent = text;
  $('auth-error').hidden = false;
}

function readAuthError() {
  const params = new URLSearchParams(location.search);
  const code = params.get('auth_error');
  if (!code) return false;
  showAlert(
    AUTH_ERRORS[code] ?? ['Sign-in failed', 'Something went wrong while signing in. Please try again.'],
  );
  // The code has been shown; a reload should not show it again.
  params.delete('auth_error');
  const rest = params.toString();
  history.replaceState(null, '', location.pathname + (rest ? `?${rest}` : '') + location.hash);
  return true;
}

function showSignedOut(reason) {
  if (reason) showAlert(reason);
  $('signed-in').hidden = true;
  $('signed-out').hidden = false;
}

/* ---------- profile ---------- */

export function initialsOf(name, email) {
  const words = (name ?? '').split(/\s+/).filter((w) => /^\p{L}/u.test(w));
  const letters = words.length > 0 ? [words[0], words.at(-1)].slice(0, words.length) : [email];
  return letters.map((w) => Array.from(w)[0]?.toUpperCase() ?? '').join('') || '?';
}

function showProfile(user) {
  const name = user.name?.trim() || user.email;
  $('profile-name').textContent = name;
  $('profile-email').textContent = user.email;
  const img = $('profile-picture');
  const initials = $('profile-initials');
  if (user.picture) {
    img.src = user.picture;
    img.alt = `Profile picture of ${name}`;
    img.hidden = false;
    initials.hidden = true;
  } else {
    // No picture from the provider: initials, as Google shows for accounts without a photo.
    img.hidden = true;
    initials.textContent = initialsOf(user.name, user.email);
    initials.hidden = false;
  }
  document.title = `${name} · Gatehouse`;
}

/* ---------- chat ---------- */

let oldestCursor = null;

function messageItem(message) {
  const li = document.createElement('li');
  li.className = `bubble ${message.role}`;
  const who = document.createElement('span');
  who.className = 'who';
  who.textContent = message.role === 'user' ? 'You' : 'Gatehouse';
  const text = document.createElement('p');
  text.className = 'text';
  text.textContent = message.content;
  li.append(who, text);
  if (message.id !== undefined) li.dataset.id = String(message.id);
  return li;
}

function updateEmptyState() {
  $('chat-empty').hidden = $('chat-log').children.length > 0;
}

async function loadHistory(before) {
  const query = before ? `?limit=20&before=${before}` : '?limit=20';
  const { status, body } = await api(`/chat/messages${query}`);
  if (status === 401) return showSignedOut(SESSION_ENDED);
  if (status !== 200) return;
  const items = body.messages.slice().reverse().map(messageItem);
  const log = $('chat-log');
  if (before) log.prepend(...items);
  else log.replaceChildren(...items);
  oldestCursor = body.next_cursor;
  $('chat-more').hidden = oldestCursor === null;
  updateEmptyState();
}

/** Reads a `text/event-stream` body: calls onEvent(name, data) for each event. */
async function readEvents(response, onEvent) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let end = buffer.indexOf('\n\n');
    while (end !== -1) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data.push(line.slice(6));
      }
      if (data.length > 0) onEvent(event, JSON.parse(data.join('\n')));
      end = buffer.indexOf('\n\n');
    }
  }
}

async function sendMessage(text) {
  const log = $('chat-log');
  const mine = messageItem({ role: 'user', content: text });
  const pending = messageItem({ role: 'assistant', content: '…' });
  pending.classList.add('pending');
  log.append(mine, pending);
  updateEmptyState();
  pending.scrollIntoView({ block: 'nearest' });
  // Screen readers hear the finished reply once, not every streamed piece.
  log.setAttribute('aria-busy', 'true');
  const replyText = pending.querySelector('.text');
  let streamed = '';
  let outcome = null;
  try {
    const response = await fetch('/chat', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ message: text }),
    });
    if (!response.ok || !(response.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
      const body = (response.headers.get('content-type') ?? '').includes('json')
        ? await response.json()
        : null;
      outcome = { error: body, status: response.status };
    } else {
      await readEvents(response, (event, data) => {
        if (event === 'token') {
          streamed += data.delta;
          replyText.textContent = streamed;
        } else if (event === 'done') {
          outcome = { done: data };
        } else if (event === 'error') {
          outcome = { error: data, status: data.status };
        }
      });
    }
  } catch {
    outcome = { error: null, status: 0 };
  } finally {
    log.setAttribute('aria-busy', 'false');
  }
  if (outcome?.done) {
    mine.dataset.id = String(outcome.done.message.id);
    pending.dataset.id = String(outcome.done.reply.id);
    pending.classList.remove('pending');
    replyText.textContent = outcome.done.reply.content;
    return true;
  }
  mine.remove();
  pending.remove();
  updateEmptyState();
  if (outcome?.status === 401) {
    showSignedOut(SESSION_ENDED);
    return false;
  }
  const error = $('chat-error');
  error.textContent =
    outcome?.error?.detail ??
    (outcome?.status === 0 ? 'Could not reach the server.' : 'The message could not be sent.');
  error.hidden = false;
  return false;
}

function wireChat() {
  $('chat-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const input = $('chat-input');
    const send = $('chat-send');
    const text = input.value.trim();
    $('chat-error').hidden = true;
    if (!text) {
      $('chat-error').textContent = 'Write a message first.';
      $('chat-error').hidden = false;
      return;
    }
    send.disabled = true;
    input.setAttribute('aria-disabled', 'true');
    const sent = await sendMessage(text);
    send.disabled = false;
    input.removeAttribute('aria-disabled');
    if (sent) input.value = '';
    input.focus();
  });
  $('chat-more').addEventListener('click', () => {
    if (oldestCursor !== null) void loadHistory(oldestCursor);
  });
}

/* ---------- sessions ---------- */

/** A short device label from a User-Agent: "Chrome on Linux". */
export function deviceLabel(userAgent) {
  if (!userAgent) return 'Unknown device';
  const ua = userAgent;
  const browser = /Edg\//.test(ua)
    ? 'Edge'
    : /OPR\//.test(ua)
      ? 'Opera'
      : /Firefox\//.test(ua)
        ? 'Firefox'
        : /(Headless)?Chrom(e|ium)\//.test(ua)
          ? 'Chrome'
          : /Safari\//.test(ua)
            ? 'Safari'
            : /^curl\//.test(ua)
              ? 'curl'
              : null;
  const os = /Windows/.test(ua)
    ? 'Windows'
    : /Android/.test(ua)
      ? 'Android'
      : /iPhone|iPad/.test(ua)
        ? 'iOS'
        : /Mac OS X/.test(ua)
          ? 'macOS'
          : /CrOS/.test(ua)
            ? 'ChromeOS'
            : /Linux/.test(ua)
              ? 'Linux'
              : null;
  if (browser && os) return `${browser} on ${os}`;
  return browser ?? os ?? ua.slice(0, 40);
}

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

function ago(iso) {
  const seconds = Math.round((Date.parse(iso) - Date.now()) / 1000);
  const abs = Math.abs(seconds);
  if (abs < 60) return 'just now';
  if (abs < 3600) return relative.format(Math.round(seconds / 60), 'minute');
  if (abs < 86400) return relative.format(Math.round(seconds / 3600), 'hour');
  return relative.format(Math.round(seconds / 86400), 'day');
}

function sessionItem(session) {
  const li = document.createElement('li');
  li.className = 'session';
  const text = document.createElement('div');
  const device = document.createElement('strong');
  device.textContent = deviceLabel(session.user_agent);
  text.append(device);
  if (session.current) {
    const badge = document.createElement('span');
    badge.className = 'badge';
    badge.textContent = 'This device';
    text.append(' ', badge);
  }
  const detail = document.createElement('p');
  detail.className = 'muted small';
  const seen = document.createElement('time');
  seen.dateTime = session.last_seen_at;
  seen.title = new Date(session.last_seen_at).toLocaleString();
  seen.textContent = ago(session.last_seen_at);
  detail.append(`${session.ip ?? 'Unknown IP'} · last seen `, seen);
  text.append(detail);

  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'button small';
  button.textContent = 'Sign out this one';
  button.setAttribute(
    'aria-label',
    `Sign out ${deviceLabel(session.user_agent)}${session.current ? ' (this device)' : ''}, ${session.ip ?? 'unknown IP'}`,
  );
  button.addEventListener('click', async () => {
    button.disabled = true;
    const { status } = await api(`/sessions/${encodeURIComponent(session.id)}`, { method: 'DELETE' });
    if (session.current || status === 401) {
      location.assign('/');
      return;
    }
    $('sessions-status').textContent =
      status < 300 ? 'Signed out that session.' : 'Could not sign out that session.';
    await loadSessions();
    $('sessions-title').focus();
  });
  li.append(text, button);
  return li;
}

async function loadSessions() {
  const { status, body } = await api('/sessions');
  if (status === 401) return showSignedOut(SESSION_ENDED);
  if (status !== 200) return;
  $('session-list').replaceChildren(...body.sessions.map(sessionItem));
}

function wireSessions() {
  $('sessions-title').tabIndex = -1;
  $('sign-out-everywhere').addEventListener('click', async () => {
    $('sign-out-everywhere').disabled = true;
    await api('/sessions', { method: 'DELETE' });
    location.assign('/');
  });
}

/* ---------- start ---------- */

async function main() {
  const hadError = readAuthError();
  const [settings, me] = await Promise.all([api('/config.json').catch(() => ({ body: null })), api('/me')]);
  if (settings.body?.dev_provider) $('dev-banner').hidden = false;
  $('loading').hidden = true;
  $('main').setAttribute('aria-busy', 'false');

  if (me.status !== 200) {
    const reason =
      me.body?.code === 'session_revoked' || me.body?.code === 'session_expired' ? SESSION_ENDED : null;
    showSignedOut(hadError ? null : reason);
    if (hadError) $('auth-error').focus();
    return;
  }
  showProfile(me.body);
  $('signed-in').hidden = false;
  wireChat();
  wireSessions();
  const [chat] = await Promise.all([api('/chat'), loadHistory(), loadSessions()]);
  $('chat-answer').textContent = JSON.stringify(chat.body, null, 2);
}

void main();
