import '@h5web/app/styles.css';

import { App, createBasicFetcher, H5GroveProvider } from '@h5web/app';
import { useMemo } from 'react';

import { apiBase, authHeaders } from './session';

// H5Web's own viewer, fed by the data API (h5grove's protocol) with the
// session's token or temp URL parameters on every request.
export default function Viewer({ session, container, name }) {
  const filepath = name ? `${container}/${name}` : container;
  // Absolute: H5Web builds export links with new URL(baseUrl + ...).
  const baseUrl = `${window.location.origin}${apiBase(session.account)}`;

  const fetcher = useMemo(() => {
    const basic = createBasicFetcher({ headers: authHeaders(session) });
    const extra = session.tempParams || {};
    return (url, params, opts) => basic(url, { ...params, ...extra }, opts);
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
          ...(selection ? { selection } : {}),
          ...(session.tempParams || {}),
        });
        const response = await fetch(`${baseUrl}/data/?${params}`, { headers: authHeaders(session) });
        if (!response.ok) {
          throw new Error(`export failed: ${response.status}`);
        }
        return response.blob();
      };
    },
    [filepath, baseUrl, session],
  );

  return (
    <div className="ss-viewer">
      <H5GroveProvider url={baseUrl} filepath={filepath} fetcher={fetcher} getExportURL={getExportURL}>
        <App />
      </H5GroveProvider>
    </div>
  );
}
