"""``sciswift get URL PATH [--select SEL] [-o FILE]``: a slice of a stored
dataset, computed by the server's data API, saved or printed.

The output's extension picks the format: ``.npy`` (NumPy), ``.csv``,
``.json``, anything else raw bytes (C order; the dtype and shape are printed).
Without ``-o`` the values are printed as JSON. ``--meta`` prints the entity's
metadata instead, ``--attrs`` its attributes.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from sciswift.client.dataapi import DataAPIError, open_url

__all__ = ["get"]

_FORMATS = {".npy": "npy", ".csv": "csv", ".json": "json"}


@click.command()
@click.argument("url")
@click.argument("path", default="/")
@click.option("--select", "-s", default=None, help='h5py-style selection, e.g. "[0:10, :]" or "5, ::2".')
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write here (.npy, .csv, .json; other names get the raw bytes).")
@click.option("--meta", is_flag=True, help="Print the metadata of PATH (kind, shape, type, attributes).")
@click.option("--attrs", is_flag=True, help="Print the attributes of PATH.")
def get(url: str, path: str, select: str | None, output: Path | None, meta: bool, attrs: bool) -> None:
    """Read PATH of the stored file URL through the server's data API.

    \b
    URL is swift://container/name (with ST_AUTH/ST_USER/ST_KEY set), or
    http://host/v1/AUTH_x/container/name, also a temp URL.

    \b
      sciswift get swift://wind/run1.h5 /vpic/x --select "[0:10]" -o x.npy
      sciswift get swift://sky/m13.fits /PRIMARY/data -s "100:110, 100:110"
      sciswift get swift://wind/run1.h5 / --meta
    """
    try:
        client, file = open_url(url)
        if meta or attrs:
            value = client.meta(file, path) if meta else client.attrs(file, path)
            click.echo(json.dumps(value, indent=2))
            return
        if output is None:
            click.echo(client.fetch(file, path, select, "json").decode("utf-8"))
            return
        fmt = _FORMATS.get(output.suffix.lower(), "bin")
        data, dtype, shape = client.fetch_described(file, path, select, fmt)
        tmp = output.with_name(f".{output.name}.part")
        tmp.write_bytes(data)
        tmp.replace(output)
        described = f", dtype {dtype}, shape {list(shape)}" if fmt == "bin" and shape is not None else ""
        click.echo(f"{output}: {len(data)} bytes ({fmt}{described})", err=True)
    except DataAPIError as exc:
        raise click.ClickException(f"{url} {path}: {exc.message} (HTTP {exc.status})") from None
    except (ValueError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
