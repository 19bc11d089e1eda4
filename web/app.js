// The demo page: plain DOM, no framework. Every value from the server goes through textContent,
// never innerHTML, so hostile profile fields are shown as text.

const AUTH_ERRORS = {
  access_denied: 'Sign-in was cancelled.',
  login_expired: 'That sign-in attempt expired. Please try again.',
  login_failed: 'Sign-in failed. Please try again.',
  forbidden_domain: 'This account is not allowed to sign in here.',
  email_not_verified: 'Your email address is not verified with the provider.',
  user_disabled: 'This account has been disabled.',
  rate_limited: 'Too many attempts. Wait a minute and try again.',
};

const $ = (id) => document.getElementById(id);

async function api(path, options = {}) {
  const response = await fetch(path, { credentials: 'same-origin', ...options });
  const type = response.headers.get('content-type') ?? '';
  const body = type.includes('json') ? await response.json() : null;
  return { status: response.status, body };
}

function showAuthError() {
  const params = new URLSearchParams(location.search);
  const code = params.get('auth_error');
  if (!code) return;
  const el = $('auth-error');
  el.textContent = AUTH_ERRORS[code] ?? 'Sign-in failed.';
  el.hidden = false;
  params.delete('auth_error');
  const rest = params.toString();
  history.replaceState(null, '', location.pathname + (rest ? `?${rest}` : ''));
}

function renderMessage(message) {
  const li = document.createElement('li');
  li.className = message.role;
  const who = document.createElement('span');
  who.className = 'who';
  who.textContent = message.role === 'user' ? 'You' : 'Gatehouse';
  const text = document.createElement('span');
  text.textContent = message.content;
  li.append(who, text);
  return li;
}

async function loadHistory() {
  const { status, body } = await api('/chat/messages?limit=50');
  if (status !== 200) return;
  const log = $('chat-log');
  log.replaceChildren(...body.messages.slice().reverse().map(renderMessage));
}

async function loadSessions() {
  const { status, body } = await api('/sessions');
  if (status !== 200) return;
  const list = $('session-list');
  list.replaceChildren(
    ...body.sessions.map((s) => {
      const li = document.createElement('li');
      const label = document.createElement('span');
      const seen = new Date(s.last_seen_at).toLocaleString();
      label.textContent = `${s.user_agent ?? 'Unknown device'} · ${s.ip ?? 'unknown IP'} · last seen ${seen}${s.current ? ' (this one)' : ''}`;
      const button = document.createElement('button');
      button.type = 'button';
      button.textContent = 'Sign out this one';
      button.addEventListener('click', async () => {
        await api(`/sessions/${encodeURIComponent(s.id)}`, { method: 'DELETE' });
        if (s.current) location.reload();
        else await loadSessions();
      });
      li.append(label, button);
      return li;
    }),
  );
}

async function main() {
  showAuthError();
  const settings = await api('/config.json');
  if (settings.body?.dev_provider) $('dev-banner').hidden = false;

  const me = await api('/me');
  if (me.status !== 200) {
    $('signed-out').hidden = false;
    return;
  }
  const user = me.body;
  $('profile-name').textContent = user.name ?? user.email;
  $('profile-email').textContent = user.email;
  if (user.picture) {
    const img = $('profile-picture');
    img.src = user.picture;
    img.alt = `Picture of ${user.name ?? user.email}`;
    img.referrerPolicy = 'no-referrer';
    img.hidden = false;
  }
  $('signed-in').hidden = false;

  const chat = await api('/chat');
  $('chat-answer').textContent = JSON.stringify(chat.body, null, 2);

  await Promise.all([loadHistory(), loadSessions()]);

  $('chat-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const input = $('chat-input');
    const error = $('chat-error');
    error.hidden = true;
    const { status, body } = await api('/chat', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ message: input.value }),
    });
    if (status !== 200) {
      error.textContent = body?.detail ?? 'The message could not be sent.';
      error.hidden = false;
      return;
    }
    $('chat-log').append(renderMessage(body.message), renderMessage(body.reply));
    input.value = '';
    input.focus();
  });

  $('sign-out-everywhere').addEventListener('click', async () => {
    await api('/sessions', { method: 'DELETE' });
    location.reload();
  });
}

main();
