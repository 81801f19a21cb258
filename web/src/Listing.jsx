import { useEffect, useState } from 'react';

import { apiFetch } from './session';

function formatBytes(n) {
  if (n === null || n === undefined) {
    return '';
  }
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit ? value.toFixed(1) : value} ${units[unit]}`;
}

// The account's containers (container === null) or one level of a container.
export default function Listing({ session, container, prefix, navigate }) {
  const [state, setState] = useState({ loading: true });

  useEffect(() => {
    let live = true;
    setState({ loading: true });
    const params = container === null ? {} : { container, prefix };
    apiFetch(session, 'ls', params).then(
      (listing) => live && setState({ listing }),
      (error) => live && setState({ error }),
    );
    return () => {
      live = false;
    };
  }, [session, container, prefix]);

  if (state.loading) {
    return <p className="ss-note">Loading…</p>;
  }
  if (state.error) {
    return <p className="ss-error" role="alert">{state.error.message}</p>;
  }
  const { listing } = state;
  const rows = listing.entries.map((entry) => {
    const label = container === null ? entry.name : entry.name.slice(prefix.length);
    let href;
    let kind = entry.kind;
    if (entry.kind === 'container') {
      href = `#/c/${encodeURIComponent(entry.name)}/`;
    } else if (entry.kind === 'folder') {
      href = `#/c/${encodeURIComponent(container)}/${entry.name.split('/').map(encodeURIComponent).join('/')}`;
    } else {
      const name = entry.name.replace(/\/$/, '');
      href = `#/f/${encodeURIComponent(container)}/${name.split('/').map(encodeURIComponent).join('/')}`;
      kind = entry.format ? `${entry.format}` : 'object';
    }
    return (
      <tr key={entry.name}>
        <td>
          <a href={href} className={`ss-entry ss-${entry.kind}`}>
            {label}
          </a>
        </td>
        <td>{kind}</td>
        <td className="ss-num">{formatBytes(entry.bytes)}</td>
      </tr>
    );
  });
  return (
    <section>
      {listing.native && (
        <p>
          This container is a native file: <a href={`#/f/${encodeURIComponent(container)}/`}>open it</a>
        </p>
      )}
      {rows.length === 0 ? (
        <p className="ss-note">Nothing here.</p>
      ) : (
        <table className="ss-listing">
          <thead>
            <tr>
              <th>Name</th>
              <th>Kind</th>
              <th>Size</th>
            </tr>
          </thead>
          <tbody>{rows}</tbody>
        </table>
      )}
    </section>
  );
}
