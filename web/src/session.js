// Who the page speaks for: a TempAuth token (kept for this tab only), or the
// parameters of a temp URL that names one file. Every data API request goes
// through apiFetch / the H5Web fetcher built here, so both carry them.

const KEY = 'sciswift.session';

export function loadSession() {
  try {
    return JSON.parse(sessionStorage.getItem(KEY)) || null;
  } catch {
    return null;
  }
}

export function saveSession(session) {
  if (session) {
    sessionStorage.setItem(KEY, JSON.stringify(session));
  } else {
    sessionStorage.removeItem(KEY);
  }
}

// GET /auth/v1.0 (TempAuth): user "account:user" and key -> token, account.
export async function login(user, key) {
  const response = await fetch('/auth/v1.0', {
    headers: { 'X-Auth-User': user, 'X-Auth-Key': key },
  });
  if (!response.ok) {
    throw new Error(
      response.status === 401
        ? 'Wrong user or key'
        : `Login failed: ${response.status} ${response.statusText}`,
    );
  }
  const token = response.headers.get('X-Auth-Token');
  const storageUrl = response.headers.get('X-Storage-Url') || '';
  const account = decodeURIComponent(storageUrl.split('/').pop() || '');
  return { user, token, account };
}

const TEMPURL_PARAMS = [
  'temp_url_sig',
  'temp_url_expires',
  'temp_url_prefix',
  'temp_url_ip_range',
];

// A temp URL (absolute, or a path) -> {account, container, name, params}.
export function parseTempUrl(text) {
  const url = new URL(text, window.location.origin);
  const parts = url.pathname.split('/').slice(1).map(decodeURIComponent);
  if (parts.length < 3 || parts[0] !== 'v1') {
    throw new Error('A temp URL looks like /v1/AUTH_x/container/object?temp_url_sig=...');
  }
  const [, account, container, ...rest] = parts;
  const params = {};
  for (const name of TEMPURL_PARAMS) {
    const value = url.searchParams.get(name);
    if (value !== null) {
      params[name] = value;
    }
  }
  if (!params.temp_url_sig || !params.temp_url_expires) {
    throw new Error('This URL has no temp_url_sig and temp_url_expires');
  }
  return { account, container, name: rest.join('/'), params };
}

export function apiBase(account) {
  return `/api/v1/${encodeURIComponent(account)}`;
}

export function authHeaders(session) {
  return session && session.token ? { 'X-Auth-Token': session.token } : {};
}

// fetch() of a data API endpoint with the session's credentials; JSON answer.
export async function apiFetch(session, endpoint, params = {}) {
  const query = new URLSearchParams({ ...params, ...(session.tempParams || {}) });
  const response = await fetch(`${apiBase(session.account)}/${endpoint}/?${query}`, {
    headers: authHeaders(session),
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(body.message || `${response.status} ${response.statusText}`);
    error.status = response.status;
    throw error;
  }
  return body;
}
