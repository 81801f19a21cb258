import '@h5web/app/styles.css';

import { App, createBasicFetcher, H5GroveProvider } from '@h5web/app';
import { useMemo, useState } from 'react';

import { overviewFetcher } from './overview';
import { apiBase, authHeaders } from './session';

function times(shape) {
  return shape.join(' \u00d7 ');
}

// Which datasets the page shows as overviews (overview.js), and how.
function OverviewNote({ overviews }) {
  if (overviews.length === 0) {
    return null;
  }
  return (
    <div className="ss-overview" role="note">
      Too large to show whole; shown as overviews (every n-th element; plots, tooltips and exports
      are of the overview, the data API serves every element):{' '}
      {overviews.map((o) => (
        <span key={o.path}>
          <span className="ss-overview-item" data-overview={o.path}>
            {o.path}: {times(o.shape)} shown as {times(o.shown)} (every {o.steps.join(' \u00d7 ')})
          </span>{' '}
        </span>
      ))}
    </div>
  );
}

// H5Web's own viewer, fed by the data API (h5grove's protocol) with the
// session's token or temp URL parameters on every request.
export default function Viewer({ session, container, name }) {
  const filepath = name ? `${container}/${name}` : container;
  // Absolute: H5Web builds export links with new URL(baseUrl + ...).
  const baseUrl = `${window.location.origin}${apiBase(session.account)}`;

  const [overviews, setOverviews] = useState([]);
  const fetcher = useMemo(() => {
    const basic = createBasicFetcher({ headers: authHeaders(session) });
    const extra = session.tempParams || {};
    const authenticated = (url, params, opts) => basic(url, { ...params, ...extra }, opts);
    // Datasets too large for one plot are fetched as strided overviews (overview.js).
    return overviewFetcher(authenticated, (o) => setOverviews((all) => [...all, o]));
  }, [session]);

  // Exports carry the credentials too (a plain link would not): fetched here.
  const getExportURL = useMemo(
    () => (format, dataset, selection, builtInExporter) => {
      if (builtInExporter) {
        return undefined; // H5Web makes CSV and JSON exports itself
      }
      return async () => {
        const params = new URLSearchParams({
          file: filepath,
          path: dataset.path,
          format,
          ...(fetcher.selectionFor(dataset.path, selection)
            ? { selection: fetcher.selectionFor(dataset.path, selection) }
            : {}),
          ...(session.tempParams || {}),
        });
        const response = await fetch(`${baseUrl}/data/?${params}`, { headers: authHeaders(session) });
        if (!response.ok) {
          throw new Error(`export failed: ${response.status}`);
        }
        return response.blob();
      };
    },
    [filepath, baseUrl, session, fetcher],
  );

  return (
    <div className="ss-viewer">
      <OverviewNote overviews={overviews} />
      <H5GroveProvider url={baseUrl} filepath={filepath} fetcher={fetcher} getExportURL={getExportURL}>
        <App />
      </H5GroveProvider>
    </div>
  );
}
