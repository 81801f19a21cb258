"""``sciswift serve``: the OpenStack Swift API v1 server over local stores."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import click

from sciswift.errors import InvalidInput

__all__ = ["serve"]


@click.command("serve")
@click.option("--host", default=None, help="Address to listen on  [default: 127.0.0.1]")
@click.option("--port", type=int, default=None, help="Port to listen on (0: any free port)  [default: 12345]")
@click.option("--data", "data_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Directory holding the accounts (created if missing)  [default: ./.sciswift-data]")
@click.option("--backend", type=click.Choice(["local", "memory"]), default=None,
              help="local: a LocalStore per account under --data; memory: lost at exit (tests)  [default: local]")
@click.option("--user", default=None, help="The single admin user account:name  [default: test:tester]")
@click.option("--key", default=None, help="Its key  [default: testing]")
@click.option("--users", "users_file", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="File of TempAuth user lines (user_<account>_<user> = <key> [groups...])")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="INI file with a [server] section (and optionally [users])")
@click.option("--workers", type=int, default=None, help="Worker processes sharing the port  [default: 1]")
@click.option("--no-durable", "no_durable", is_flag=True, default=False,
              help="Do not fsync writes (faster, but a power loss may lose recent writes)")
@click.option("--quiet", is_flag=True, default=False, help="Do not log requests")
@click.option("--tls-cert", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="PEM certificate (chain) to serve HTTPS with (needs --tls-key)")
@click.option("--tls-key", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="PEM private key of --tls-cert")
@click.option("--insecure-default-user", is_flag=True, default=False,
              help="Allow a non-loopback --host although a user has a well-known key such as 'testing'")
def serve(
    host: str | None,
    port: int | None,
    data_dir: Path | None,
    backend: str | None,
    user: str | None,
    key: str | None,
    users_file: Path | None,
    config_file: Path | None,
    workers: int | None,
    no_durable: bool,
    quiet: bool,
    tls_cert: Path | None,
    tls_key: Path | None,
    insecure_default_user: bool,
) -> None:
    """Start the Swift-compatible object server (TempAuth v1.0 auth).

    It listens on 127.0.0.1 unless --host says otherwise; beyond loopback it
    refuses to start with well-known keys (the default test:tester/testing).
    Stop it with Ctrl-C (or SIGTERM): requests in flight finish first.

    \b
    Then, for example:
      swift -A http://127.0.0.1:12345/auth/v1.0 -U test:tester -K testing stat
    """
    from sciswift.server.config import ServerConfig, load_config_file, load_users_file
    from sciswift.server.runner import banner
    from sciswift.server.runner import serve as run

    try:
        settings: dict[str, object] = load_config_file(config_file) if config_file else {}
        config = ServerConfig(**settings)  # type: ignore[arg-type]
        overrides: dict[str, object] = {}
        for name, value in (("host", host), ("port", port), ("data_dir", data_dir), ("backend", backend),
                            ("workers", workers), ("tls_cert", tls_cert), ("tls_key", tls_key)):
            if value is not None:
                overrides[name] = value
        if quiet:
            overrides["quiet"] = True
        if no_durable:
            overrides["durable"] = False
        if insecure_default_user:
            overrides["insecure_default_user"] = True
        if users_file is not None:
            overrides["users"] = load_users_file(users_file)
        config = replace(config, **overrides)  # type: ignore[arg-type]
        if user is not None or key is not None:
            config = replace(config, users={}).with_default_user(user or "test:tester", key or "testing")
        else:
            config = config.with_default_user()
        if config.workers < 1:
            raise InvalidInput("--workers must be at least 1")
        if config.backend == "memory" and config.workers != 1:
            raise InvalidInput("the memory backend runs one worker (its data lives in one process)")
        config.check_exposure()
    except InvalidInput as exc:
        raise click.UsageError(str(exc)) from None

    def ready(bound_port: int) -> None:
        click.echo(banner(config, bound_port))
        sys.stdout.flush()

    try:
        run(config, on_ready=ready)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {config.host}:{config.port}: {exc.strerror}") from None
