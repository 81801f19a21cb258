#!/usr/bin/env python3
"""``make compat-swift``: OpenStack Swift's own functional test suite against
``sciswift serve``.

Starts ``sciswift serve`` on a free port over a fresh temporary data directory
(LocalStore, the default backend) with the users the suite needs, the
storage domain its domain_remap tests use (``example.net``) and the all-in-one's
three storage policy names, writes a
``test.conf`` pointing at it, runs the swift-saio tool's ``run_functests.sh``
(which downloads Swift 2.38.3's ``test/functional`` once, runs it with pytest
and prints ``passed / baseline`` per module), prints the table, and stops the
server by its PID.

    python scripts/compat_swift.py                      # the whole suite (~10 min)
    python scripts/compat_swift.py tests test_slo       # some modules
    python scripts/compat_swift.py tests -k TestFile    # pytest arguments after the modules
    python scripts/compat_swift.py s3api                # Swift's s3api functional tests (S3 API)
    python scripts/compat_swift.py --backend memory --keep ...

The swift-saio tools folder is ``--tools``, else ``$SCISWIFT_SWIFT_SAIO_TOOLS``,
else ``/work/shared/tools/swift-saio``. Exit status: the suite's.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sciswift.server.spawn import ServerProcess, spawn

USERS = """\
# The users Swift's functional tests log in as (see test.conf below).
user_test_tester = testing .admin
user_test_tester2 = testing2 .admin
user_test_tester3 = testing3
user_test2_tester2 = testing2 .admin
user_test5_tester5 = testing5 service
user_admin_admin = admin .admin .reseller_admin
"""

TEST_CONF = """\
[func_test]
auth_uri = http://127.0.0.1:{port}/auth/v1.0
account = test
username = tester
password = testing
account2 = test2
username2 = tester2
password2 = testing2
username3 = tester3
password3 = testing3
account5 = test5
username5 = tester5
password5 = testing5
service_prefix = SERVICE
storage_domain = example.net
account6 = admin
username6 = admin
password6 = admin
s3_access_key = test:tester
s3_secret_key = testing
s3_access_key2 = test:tester2
s3_secret_key2 = testing2
s3_access_key3 = test:tester3
s3_secret_key3 = testing3
collate = C
insecure = no

[s3api_test]
endpoint = http://127.0.0.1:{port}
region = us-east-1
access_key1 = test:tester
secret_key1 = testing
access_key2 = test:tester2
secret_key2 = testing2
access_key3 = test:tester3
secret_key3 = testing3

[unit_test]
fake_syslog = False
"""

#: The server's settings beyond the defaults, as the all-in-one baseline has
#: them: the storage domain the domain_remap and staticweb tests send Host
#: names under, and three storage policy names (the suite's cross-policy tests
#: need two or more; here they are names over the same store).
SERVER_CONF = """\
[domain_remap]
storage_domain = example.net

[storage-policy:0]
name = gold
aliases = yellow, orange
default = yes

[storage-policy:1]
name = silver

[storage-policy:2]
name = ec21
"""

DEFAULT_TOOLS = "/work/shared/tools/swift-saio"


def find_tools(explicit: str | None) -> Path:
    for candidate in (explicit, os.environ.get("SCISWIFT_SWIFT_SAIO_TOOLS"), DEFAULT_TOOLS):
        if candidate and (Path(candidate) / "run_functests.sh").is_file():
            return Path(candidate)
    sys.exit("compat_swift: cannot find swift-saio's run_functests.sh; pass --tools DIR "
             "or set SCISWIFT_SWIFT_SAIO_TOOLS")


def start_server(workdir: Path, backend: str) -> ServerProcess:
    users = workdir / "users.conf"
    users.write_text(USERS)
    conf = workdir / "server.conf"
    conf.write_text(SERVER_CONF)
    args = ["--config", str(conf), "--users", str(users), "--quiet"]
    args += ["--backend", "memory"] if backend == "memory" else ["--data", str(workdir / "data")]
    log = workdir / "server.log"
    with open(log, "wb") as fh:
        try:
            server = spawn(args, stderr=fh, log_path=log)
        except RuntimeError as exc:
            sys.exit(f"compat_swift: {exc}")
    print(server.banner.rstrip())
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], add_help=True)
    parser.add_argument("--tools", help="the swift-saio tools folder (holds run_functests.sh)")
    parser.add_argument("--backend", choices=("local", "memory"), default="local")
    parser.add_argument("--out", help="results folder (default: a new one under ./functests-results)")
    parser.add_argument("--keep", action="store_true", help="keep the server's data and log folder")
    args, rest = parser.parse_known_args(argv)
    tools = find_tools(args.tools)
    workdir = Path(tempfile.mkdtemp(prefix="sciswift-compat-"))
    server = start_server(workdir, args.backend)
    conf = workdir / "test.conf"
    conf.write_text(TEST_CONF.format(port=server.port))
    out = Path(args.out) if args.out else Path("functests-results") / time.strftime("sciswift-%Y%m%d-%H%M%S")
    cmd = ["bash", str(tools / "run_functests.sh"), "-c", str(conf), "-o", str(out.resolve()), *rest]
    print("running:", " ".join(cmd), flush=True)
    try:
        rc = subprocess.call(cmd)
    finally:
        server.stop()
        if args.keep:
            print(f"server data and log kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    summary = out / "summary.txt"
    if summary.is_file():
        print(f"\n(table also in {summary})")
    return rc


if __name__ == "__main__":
    sys.exit(main())
