// Overviews of datasets too large for the browser.
//
// H5Web asks the data API for a whole slice: all of a 2-D dataset for its
// heatmap, all of a 1-D one for its line. Above the GPU's largest texture (8192
// or 16384 pixels a side) the heatmap cannot be drawn at all, and long before
// that the slice costs hundreds of MB to fetch and hold (a 20000 x 20000
// float32 dataset: 1.6 GB, a 413 once it passes the API's 2 GiB limit). h5grove
// itself has no answer (it reads what is asked); so the page shows such a
// dataset as an overview: every s-th element along its long axes, with s the
// smallest step that keeps any 2-D slice within BUDGET_BYTES and each axis
// within the GPU's texture size (1-D: the whole line within BUDGET_BYTES).
//
// It is done where H5Web meets the data API, in the fetcher: `meta` answers
// give such a dataset its overview's shape, and `data` requests for it become
// the strided selection of the real dataset (`::4, ::4`), so H5Web's slicing,
// plots and exports stay consistent, and each response stays within the
// budget. The page says which datasets are overviews (see Viewer.jsx).

export const BUDGET_BYTES = 128 * 1024 * 1024;

// h5grove's type classes (HDF5's H5T_class_t): integers and floats, what
// H5Web plots; tables, strings and the rest are left alone.
const NUMERIC_CLASSES = new Set([0, 1]);

export function maxTextureSize() {
  try {
    const gl = document.createElement('canvas').getContext('webgl2');
    return (gl && gl.getParameter(gl.MAX_TEXTURE_SIZE)) || 4096;
  } catch {
    return 4096;
  }
}

// The step along each axis of `shape` (items of `itemsize` bytes), or null
// when the dataset fits as it is.
export function overviewSteps(shape, itemsize, maxAxis) {
  if (!Array.isArray(shape) || shape.length === 0) {
    return null;
  }
  const size = Math.max(1, itemsize || 1);
  const cap =
    shape.length === 1
      ? Math.floor(BUDGET_BYTES / size)
      : Math.max(1, Math.min(maxAxis, Math.floor(Math.sqrt(BUDGET_BYTES / size))));
  const steps = shape.map((n) => (n > cap ? Math.ceil(n / cap) : 1));
  return steps.some((s) => s > 1) ? steps : null;
}

// A selection of the overview (what H5Web asks: indices and `:`, or nothing
// for all of it) as the strided selection of the real dataset.
export function realSelection(selection, steps) {
  const members = selection ? selection.split(',') : steps.map(() => ':');
  return members
    .map((member, axis) => {
      const s = steps[axis] || 1;
      const text = member.trim();
      if (s === 1) {
        return text;
      }
      if (!text.includes(':')) {
        return String(Number(text) * s);
      }
      const [start, stop, step] = text.split(':');
      const scaled = (v) => (v === '' || v === undefined ? '' : String(Number(v) * s));
      return `${scaled(start)}:${scaled(stop)}:${(Number(step) || 1) * s}`;
    })
    .join(',');
}

function childPath(parent, name) {
  return parent === '/' ? `/${name}` : `${parent}/${name}`;
}

// A fetcher for H5GroveProvider around `fetcher` (the one that authenticates).
// `onOverview({path, shape, steps, shown})` is called once per dataset shown
// as an overview; `.selectionFor(path, selection)` of the result maps an
// export's selection as the data requests are mapped.
export function overviewFetcher(fetcher, onOverview, maxAxis = maxTextureSize()) {
  const known = new Map(); // dataset path -> steps

  function rewrite(entity, path) {
    if (entity.kind === 'dataset' && entity.type && NUMERIC_CLASSES.has(entity.type.class)) {
      const steps = overviewSteps(entity.shape, entity.type.size, maxAxis);
      if (steps) {
        const shown = entity.shape.map((n, i) => Math.ceil(n / steps[i]));
        if (!known.has(path)) {
          known.set(path, steps);
          onOverview({ path, shape: entity.shape, steps, shown });
        }
        entity.shape = shown; // chunks stay the stored ones (Inspect shows them)
      }
    }
    for (const child of entity.children || []) {
      rewrite(child, childPath(path, child.name));
    }
  }

  const fetchThrough = async (url, params, opts) => {
    const endpoint = url.replace(/\/+$/, '').split('/').pop();
    if (endpoint === 'data' && known.has(params.path)) {
      const selection = realSelection(params.selection, known.get(params.path));
      return fetcher(url, { ...params, selection }, opts);
    }
    const body = await fetcher(url, params, opts);
    if (endpoint !== 'meta') {
      return body;
    }
    const entity = JSON.parse(new TextDecoder().decode(body));
    rewrite(entity, params.path || '/');
    return new TextEncoder().encode(JSON.stringify(entity)).buffer;
  };
  // The real selection of what the page shows (for exports).
  fetchThrough.selectionFor = (path, selection) =>
    known.has(path) ? realSelection(selection, known.get(path)) : selection;
  return fetchThrough;
}
