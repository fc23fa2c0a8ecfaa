"""A throw-away PostgreSQL cluster for the tests: Debian's server, a temporary folder, a free port.

PostgreSQL refuses to run as root, and CI runs as root: then the cluster belongs to the
`postgres` user (which Debian's package creates) and its programs run through `runuser`.
The superuser reaches it through the unix socket in the temporary folder without a password;
mailer connects over TCP as the role `mailer` with a password (scram-sha-256), like a server.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ports import free_port

BIN_ROOT = Path("/usr/lib/postgresql")
ROLE, PASSWORD = "mailer", "hemmelig-passord"


def bin_dir() -> Path:
    versions = sorted(BIN_ROOT.glob("*/bin/postgres"), key=lambda p: int(p.parent.parent.name))
    if not versions:
        raise RuntimeError("PostgreSQL is not installed: run `sh .ci/debian-packages` (package postgresql)")
    return versions[-1].parent


@dataclass
class PgServer:
    root: Path
    port: int
    bin: Path
    owner: str | None
    _numbers: itertools.count = field(default_factory=lambda: itertools.count(1))

    @property
    def socket_dir(self) -> Path:
        return self.root / "sock"

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = list(args)
        if self.owner:
            cmd = ["runuser", "-u", self.owner, "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, check=check, timeout=120)

    def psql(self, sql: str, database: str = "postgres") -> str:
        out = self.run(
            str(self.bin / "psql"),
            "-X",
            "-q",
            "-At",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            str(self.socket_dir),
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-d",
            database,
            "-c",
            sql,
        )
        return out.stdout.strip()

    def url(self, database: str, password: str = PASSWORD, port: int | None = None) -> str:
        return f"postgresql://{ROLE}:{password}@127.0.0.1:{port or self.port}/{database}"

    def new_database(self) -> str:
        """A fresh database owned by the `mailer` role: one per test, so tests never share rows."""
        name = f"t{os.getpid()}_{next(self._numbers)}"
        self.psql(f"CREATE DATABASE {name} OWNER {ROLE}")
        return name

    def data_files(self, database: str) -> dict[Path, bytes]:
        """What every file of one database holds (tables, indexes, TOAST; not the WAL).

        The server removes files of its own while it runs (the relation cache's
        pg_internal.init, for one); a file gone between listing and reading held nothing.
        """
        oid = self.psql(f"SELECT oid FROM pg_database WHERE datname = '{database}'")
        found = {}
        for path in (self.root / "data" / "base" / oid).rglob("*"):
            try:
                found[path] = path.read_bytes()
            except (FileNotFoundError, IsADirectoryError):
                continue
        return found

    def stop(self, mode: str = "fast") -> None:
        self.run(str(self.bin / "pg_ctl"), "-D", str(self.root / "data"), "-m", mode, "stop", check=False)

    def start(self) -> None:
        self.run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.root / "data"),
            "-l",
            str(self.root / "log"),
            "-w",
            "start",
        )


def start_cluster(port: int) -> PgServer:
    """initdb, a pg_hba.conf that wants a password over TCP, start, and the `mailer` role.

    fsync is off (the machine does not crash in a test; a killed server loses nothing the OS
    has), but commits stay synchronous: a test that stops the server must see what a real one
    keeps."""
    root = Path(tempfile.mkdtemp(prefix="mailer-pg-"))
    root.chmod(0o755)  # the postgres user walks into it
    (root / "sock").mkdir()
    owner = None
    if os.geteuid() == 0:
        owner = "postgres"
        shutil.chown(root, owner)
        shutil.chown(root / "sock", owner)
    server = PgServer(root, port, bin_dir(), owner)
    server.run(
        str(server.bin / "initdb"),
        "-D",
        str(root / "data"),
        "-U",
        "postgres",
        "-E",
        "UTF8",
        "--locale=C.UTF-8",
        "--auth-local=trust",
        "--auth-host=scram-sha-256",
        "--no-sync",
    )
    conf = root / "data" / "postgresql.conf"
    settings = (
        f"\nport = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{root / 'sock'}'\n"
        "fsync = off\nfull_page_writes = off\nmax_connections = 60\n"
        "shared_buffers = 32MB\n"
    )
    server.run("sh", "-c", f"cat >> {conf} <<'EOF'\n{settings}EOF")
    for attempt in range(5):
        try:
            server.start()
            break
        except subprocess.CalledProcessError:
            # Another process took the port meanwhile (other xdist workers start servers too):
            # the last `port =` line of the file counts, so another one goes after it.
            log = (root / "log").read_text() if (root / "log").is_file() else ""
            if "Address already in use" not in log or attempt == 4:
                raise
            server.port = free_port()
            server.run("sh", "-c", f"echo 'port = {server.port}' >> {conf}")
    server.psql(f"CREATE ROLE {ROLE} LOGIN PASSWORD '{PASSWORD}'")
    return server


def remove_cluster(server: PgServer) -> None:
    server.stop("immediate")
    shutil.rmtree(server.root, ignore_errors=True)
