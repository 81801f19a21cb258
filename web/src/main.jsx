import './app.css';

import { StrictMode, useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';

import Listing from './Listing';
import Login from './Login';
import { loadSession, parseTempUrl, saveSession } from './session';
import Viewer from './Viewer';

// #/ (containers), #/c/<container>/<prefix> (a level), #/f/<container>/<name>
// (a file in H5Web). ?tempurl=<temp URL> opens that one file without logging in.
function parseHash(hash) {
  const parts = hash.replace(/^#\/?/, '').split('/');
  const decode = (xs) => xs.map(decodeURIComponent);
  if (parts[0] === 'c' && parts.length >= 2) {
    const [container, ...rest] = decode(parts.slice(1));
    return { view: 'list', container, prefix: rest.join('/') };
  }
  if (parts[0] === 'f' && parts.length >= 2) {
    const [container, ...rest] = decode(parts.slice(1));
    return { view: 'file', container, name: rest.join('/').replace(/\/$/, '') };
  }
  return { view: 'list', container: null, prefix: '' };
}

function initialSession() {
  const temp = new URLSearchParams(window.location.search).get('tempurl');
  if (temp) {
    try {
      const { account, container, name, params } = parseTempUrl(temp);
      return { account, tempParams: params, tempFile: { container, name } };
    } catch {
      return loadSession();
    }
  }
  return loadSession();
}

function Root() {
  const [session, setSession] = useState(initialSession);
  const [route, setRoute] = useState(() => parseHash(window.location.hash));

  useEffect(() => {
    const onHash = () => setRoute(parseHash(window.location.hash));
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);

  function changeSession(next) {
    saveSession(next && next.token ? next : null);
    setSession(next);
    if (next && next.tempFile) {
      window.location.hash = `#/f/${encodeURIComponent(next.tempFile.container)}/${next.tempFile.name
        .split('/')
        .map(encodeURIComponent)
        .join('/')}`;
    }
  }

  if (!session) {
    return <Login onSession={changeSession} />;
  }
  const file = session.tempFile && route.view !== 'file' ? { view: 'file', ...session.tempFile } : route;
  const crumbs = [];
  if (!session.tempFile) {
    crumbs.push(
      <a key="root" href="#/">
        {session.account}
      </a>,
    );
    if (file.container) {
      crumbs.push(' / ');
      crumbs.push(
        <a key="c" href={`#/c/${encodeURIComponent(file.container)}/`}>
          {file.container}
        </a>,
      );
      const path = file.view === 'file' ? file.name : file.prefix;
      const segments = path.split('/').filter(Boolean);
      segments.forEach((segment, i) => {
        crumbs.push(' / ');
        const sub = segments.slice(0, i + 1).join('/');
        const last = i === segments.length - 1;
        crumbs.push(
          last && file.view === 'file' ? (
            <span key={sub}>{segment}</span>
          ) : (
            <a key={sub} href={`#/c/${encodeURIComponent(file.container)}/${sub}/`}>
              {segment}
            </a>
          ),
        );
      });
    }
  } else {
    crumbs.push(<span key="t">{`${session.tempFile.container}/${session.tempFile.name} (temp URL)`}</span>);
  }

  return (
    <div className="ss-page">
      <header className="ss-header">
        <strong>sciswift</strong>
        <nav className="ss-crumbs">{crumbs}</nav>
        <span className="ss-user">{session.user || ''}</span>
        <button type="button" onClick={() => changeSession(null)}>
          {session.token ? 'Log out' : 'Close'}
        </button>
      </header>
      {file.view === 'file' ? (
        <Viewer key={`${file.container}/${file.name}`} session={session} container={file.container} name={file.name} />
      ) : (
        <main className="ss-main">
          <Listing session={session} container={file.container} prefix={file.prefix} />
        </main>
      )}
    </div>
  );
}

createRoot(document.getElementById('root')).render(
  <StrictMode>
    <Root />
  </StrictMode>,
);
