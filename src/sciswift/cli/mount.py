"""``sciswift mount`` and ``sciswift umount``: the store as a file system."""

from __future__ import annotations

import sys
from pathlib import Path

import click

__all__ = ["mount", "umount"]


@click.command("mount")
@click.argument("url")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--read-only", is_flag=True, help="Refuse every change (EROFS).")
@click.option("--cache", "cache_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Cache directory (default: ~/.cache/sciswift/mount/<hash of URL and DIRECTORY>).")
@click.option("--cache-size", default="10G", show_default=True,
              help="Most bytes the block cache keeps (K, M, G, T suffixes).")
@click.option("--segment-size", default="16M", show_default=True,
              help="Files larger than this are stored as Swift static large objects cut in segments of "
                   "this size; a partial rewrite re-sends only the segments it touches.")
@click.option("--threads", default=2, show_default=True, type=click.IntRange(1, 64),
              help="FUSE requests served at once. More help many processes that each wait on the network "
                   "(cold reads, opens over a slow link); fewer cost less CPU per request (many small "
                   "writes: HDF5 metadata).")
@click.option("--server-times", is_flag=True,
              help="Show when each object was stored instead of the time its file was last changed "
                   "(X-Object-Meta-Mtime, which swift upload, rclone and this mount keep): `ls -l` of a "
                   "large directory then makes no request per file, and setting a file's time (touch -d, "
                   "cp -p, rsync -a) is accepted but not kept.")
@click.option("--foreground", is_flag=True, help="Stay in the foreground (log to stderr) until unmounted.")
@click.option("--allow-other", is_flag=True, help="Let other users use the mount (needs user_allow_other "
                                                  "in /etc/fuse.conf unless run as root).")
@click.option("--log", "log_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Log file of a background mount (default: mount.log in the cache directory).")
@click.option("--debug", is_flag=True, hidden=True)
def mount(url: str, directory: Path, read_only: bool, cache_dir: Path | None, cache_size: str,
          segment_size: str, threads: int, server_times: bool, foreground: bool, allow_other: bool, log_file: Path | None,
          debug: bool) -> None:
    """Mount the store location URL on DIRECTORY.

    \b
    URL is swift://CONTAINER[/PREFIX] (credentials from ST_AUTH/ST_USER/ST_KEY or
    OS_*), swift:// for a whole account (containers become directories), or a
    local store: file:///path or a plain path. Objects are files, '/' in their
    names are directories. Returns once mounted; the mount runs in the background
    until `sciswift umount DIRECTORY`.

    \b
    Examples:
      sciswift mount swift://wind /mnt/wind
      h5dump -H /mnt/wind/run1.h5
      mpirun -np 4 ./vpicio /mnt/wind/particles.h5
      sciswift umount /mnt/wind
    """
    from sciswift.errors import InvalidInput
    from sciswift.mount import MountConfig, MountError, parse_size, start
    from sciswift.mount.daemon import serve, setup_logging
    from sciswift.mount.session import cache_dir_for

    try:
        config = MountConfig(
            url=url, mountpoint=directory.resolve(),
            cache_dir=(cache_dir or cache_dir_for(url, str(directory))).resolve(),
            cache_size=parse_size(cache_size), read_only=read_only, allow_other=allow_other,
            segment_size=parse_size(segment_size), log_file=log_file.resolve() if log_file else None,
            debug=debug, threads=threads, server_times=server_times,
        )
    except InvalidInput as e:
        raise click.UsageError(str(e)) from None
    if config.segment_size < 1 << 20:
        raise click.UsageError("--segment-size must be at least 1M")
    if foreground:
        setup_logging(debug)
        try:
            serve(config)
        except (MountError, InvalidInput) as e:
            click.echo(f"sciswift mount: {e}", err=True)
            sys.exit(1)
        return
    try:
        pid = start(config)
    except MountError as e:
        click.echo(f"sciswift mount: {e}", err=True)
        sys.exit(1)
    log = config.log_file or config.cache_dir / "mount.log"
    click.echo(f"mounted {url} on {config.mountpoint} (process {pid}, log {log})")


@click.command("umount")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def umount(directory: Path) -> None:
    """Store what is pending, then unmount DIRECTORY.

    Refuses (and lists the files) if the store does not take the pending data, or
    if files are still open.
    """
    from sciswift.mount import MountError, unmount

    try:
        click.echo(unmount(directory.resolve()))
    except MountError as e:
        click.echo(f"sciswift umount: {e}", err=True)
        sys.exit(1)
