import { useState } from 'react';

import { login, parseTempUrl } from './session';

export default function Login({ onSession }) {
  const [user, setUser] = useState('test:tester');
  const [key, setKey] = useState('');
  const [tempUrl, setTempUrl] = useState('');
  const [error, setError] = useState('');

  async function submit(evt) {
    evt.preventDefault();
    setError('');
    try {
      onSession(await login(user, key));
    } catch (err) {
      setError(err.message);
    }
  }

  function follow(evt) {
    evt.preventDefault();
    setError('');
    try {
      const { account, container, name, params } = parseTempUrl(tempUrl);
      onSession({ account, tempParams: params, tempFile: { container, name } });
    } catch (err) {
      setError(err.message);
    }
  }

  return (
    <main className="ss-login">
      <h1>sciswift browser</h1>
      <form onSubmit={submit} aria-label="Log in">
        <h2>Log in (TempAuth)</h2>
        <label>
          User <input name="user" value={user} onChange={(e) => setUser(e.target.value)} autoComplete="username" />
        </label>
        <label>
          Key{' '}
          <input name="key" type="password" value={key} onChange={(e) => setKey(e.target.value)} autoComplete="current-password" />
        </label>
        <button type="submit">Log in</button>
      </form>
      <form onSubmit={follow} aria-label="Open a temp URL">
        <h2>…or open a temp URL</h2>
        <label>
          Temp URL{' '}
          <input name="tempurl" value={tempUrl} onChange={(e) => setTempUrl(e.target.value)} placeholder="/v1/AUTH_test/container/file.h5?temp_url_sig=...&temp_url_expires=..." />
        </label>
        <button type="submit">Open</button>
      </form>
      {error && <p className="ss-error" role="alert">{error}</p>}
    </main>
  );
}
