"""A real pgbouncer (Debian's package; .ci/run installs it) in front of the test run's server, in either mode."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict, make_conninfo

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
USERS = ("postgres", "authenticator", "healstack_reader")


def available() -> bool:
    return Path(PGBOUNCER).exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def pgbouncer(server_dsn: str, mode: str, *, round_robin: bool = False) -> Iterator[str]:
    """Start pgbouncer in ``mode`` (session or transaction) before the server of ``server_dsn``; yields a DSN
    of the same database through it. Any database name is routed (a wildcard entry), users trusted.
    ``round_robin``: each transaction on whichever backend is next (what a busy pooler does to one client),
    instead of pgbouncer's default, the backend used last."""
    # a directory of its own under /tmp: as root, pgbouncer runs as nobody, who cannot enter pytest's tmp_path
    workdir = Path(tempfile.mkdtemp(prefix="healstack-pgbouncer-"))
    try:
        with _started(server_dsn, mode, workdir, round_robin) as dsn:
            yield dsn
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@contextmanager
def _started(server_dsn: str, mode: str, workdir: Path, round_robin: bool) -> Iterator[str]:
    info = conninfo_to_dict(server_dsn)
    port = _free_port()
    workdir.chmod(0o755)
    (workdir / "users.txt").write_text("".join(f'"{u}" ""\n' for u in USERS))
    (workdir / "pgbouncer.ini").write_text(f"""
[databases]
* = host={info.get('host', '127.0.0.1')} port={info.get('port', 5432)}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {workdir / 'users.txt'}
pool_mode = {mode}
server_round_robin = {int(round_robin)}
min_pool_size = {3 if round_robin else 0}
default_pool_size = 4
max_client_conn = 50
ignore_startup_parameters = extra_float_digits
""")
    command = [PGBOUNCER, "-q", str(workdir / "pgbouncer.ini")]
    if os.geteuid() == 0:  # pgbouncer refuses to run as root
        nobody = pwd.getpwnam("nobody")
        for path in (workdir, *workdir.iterdir()):
            os.chown(path, nobody.pw_uid, nobody.pw_gid)
        command[1:1] = ["-u", "nobody"]
    with subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) as process:
        try:
            _wait_for(port, process)
            yield make_conninfo(server_dsn, host="127.0.0.1", port=str(port))
        finally:
            process.terminate()
            process.wait(timeout=30)


def _wait_for(port: int, process: subprocess.Popen[bytes]) -> None:
    """Until pgbouncer accepts connections (it binds within milliseconds; the bound is for a stalled start)."""
    for _ in range(500):
        if process.poll() is not None:
            raise RuntimeError(f"pgbouncer exited: {process.stderr.read().decode() if process.stderr else ''}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise RuntimeError("pgbouncer did not start listening")
