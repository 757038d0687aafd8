"""A real PostgreSQL server for the tests, from the system package (scripts/install-postgresql installs it).

initdb and the server refuse to run as root, so as root they run as the ``postgres`` user the package
creates (else ``nobody``), in a folder of their own under /tmp (pytest's own folders are private to root).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


class NoPostgres(RuntimeError):
    """The system's PostgreSQL is not installed."""


def _bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if found:
        return Path(found[-1]).parent
    pg_ctl = shutil.which("pg_ctl")
    if pg_ctl:
        return Path(pg_ctl).resolve().parent
    raise NoPostgres("PostgreSQL is not installed: run scripts/install-postgresql (make venv does)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    """A running server; ``url(db)`` is the SQLAlchemy URL of one of its databases."""

    bindir: Path
    folder: Path
    port: int
    user: str | None  # the system user it runs as (None: this one)

    def _cmd(self, *args: str) -> list[str]:
        return ["runuser", "-u", self.user, "--", *args] if self.user else list(args)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        subprocess.run(self._cmd(str(self.bindir / "createdb"), "-h", "127.0.0.1", "-p", str(self.port),
                                 "-U", "postgres", name), check=True, capture_output=True, text=True)
        return self.url(name)

    def stop(self) -> None:
        subprocess.run(self._cmd(str(self.bindir / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "immediate",
                                 "stop"), capture_output=True, text=True)
        shutil.rmtree(self.folder, ignore_errors=True)


def start() -> Server:
    """initdb a fresh cluster (trust authentication, superuser ``postgres``) and start it on a free port."""
    bindir = _bindir()
    user = None
    if os.geteuid() == 0:
        user = "postgres"
        try:
            pwd.getpwnam(user)
        except KeyError:
            user = "nobody"
    folder = Path(tempfile.mkdtemp(prefix="autograder-pg-"))
    folder.chmod(0o755)
    if user:
        entry = pwd.getpwnam(user)
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    server = Server(bindir, folder, _free_port(), user)
    data = folder / "data"
    subprocess.run(server._cmd(str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                               "--encoding=UTF8", "--no-sync"), check=True, capture_output=True, text=True)
    options = f"-p {server.port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
    proc = subprocess.run(server._cmd(str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l",
                                      str(folder / "log"), "-w", "-t", "60", "start"), capture_output=True, text=True)
    if proc.returncode != 0:
        log = (folder / "log").read_text(errors="replace") if (folder / "log").exists() else ""
        server.stop()
        raise RuntimeError(f"PostgreSQL did not start: {proc.stdout}{proc.stderr}{log}")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", server.port)) == 0:
                return server
        time.sleep(0.2)
    server.stop()
    raise RuntimeError("PostgreSQL started but does not accept connections")
