"""A local PostgreSQL cluster: the WRDS stand-in of the tests (WRDS is Postgres) and the
metadata database of ``make up``'s Airflow.

The cluster is made with the Debian package's ``initdb`` on a free port on 127.0.0.1, with
password authentication over TCP, and stopped by its postmaster PID. A throw-away cluster lives
in a temporary folder removed by ``stop()``; one given a ``root`` keeps its data there.
PostgreSQL refuses to run as root, so under root the cluster belongs to the ``postgres`` (or
``nobody``) user and its commands run through ``runuser``. Without PostgreSQL binaries the
tests that need it skip, saying so (``.ci/run`` installs the ``postgresql`` package when they
are missing).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from standins.base import free_port

SUPERUSER = "postgres"


def find_bin_dir() -> Path | None:
    """The newest ``/usr/lib/postgresql/*/bin`` holding initdb and pg_ctl (or one on PATH)."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2] or 0)
    )
    for path in reversed(candidates):
        if os.access(f"{path}/initdb", os.X_OK) and os.access(f"{path}/pg_ctl", os.X_OK):
            return Path(path)
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return Path(os.path.realpath(initdb)).parent
    return None


class LocalPostgres:
    """One cluster: ``start()``, ``create_user``/``run_sql``, ``stop()`` (by PID)."""

    def __init__(
        self,
        bin_dir: Path,
        *,
        root: Path | None = None,
        port: int | None = None,
        superuser_password: str = "super-secret",
    ) -> None:
        self.bin_dir = bin_dir
        self.port = port or free_port()
        self.host = "127.0.0.1"
        self.superuser_password = superuser_password
        self.keep = root is not None
        self.root = root or Path(tempfile.mkdtemp(prefix="equity-lake-pg-"))
        self.root.mkdir(parents=True, exist_ok=True)
        self.data = self.root / "data"
        self.pid: int | None = None
        self.os_user = self._os_user()

    @staticmethod
    def _os_user() -> str | None:
        if os.geteuid() != 0:
            return None
        for name in ("postgres", "nobody"):
            try:
                pwd.getpwnam(name)
                return name
            except KeyError:
                continue
        raise RuntimeError("running as root and neither a postgres nor a nobody user exists")

    def _cmd(self, *args: str) -> list[str]:
        if self.os_user is None:
            return list(args)
        return ["runuser", "-u", self.os_user, "--", *args]

    def start(self) -> LocalPostgres:
        if not (self.data / "PG_VERSION").exists():
            self._init()
        self._start()
        return self

    def _init(self) -> None:
        pwfile = self.root / "pw"
        pwfile.write_text(self.superuser_password + "\n")
        if self.os_user is not None:
            entry = pwd.getpwnam(self.os_user)
            for path in (self.root, pwfile):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        subprocess.run(
            self._cmd(
                str(self.bin_dir / "initdb"),
                "-D",
                str(self.data),
                "-U",
                SUPERUSER,
                f"--pwfile={pwfile}",
                "--auth-host=scram-sha-256",
                "--auth-local=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ),
            check=True,
            capture_output=True,
        )
        pwfile.unlink()

    def _start(self) -> None:
        options = (
            f"-c listen_addresses={self.host} -c port={self.port} "
            f"-c unix_socket_directories={self.data} -c fsync=off -c full_page_writes=off "
            "-c synchronous_commit=off -c log_statement=all"
        )
        subprocess.run(
            self._cmd(
                str(self.bin_dir / "pg_ctl"),
                "-D",
                str(self.data),
                "-o",
                options,
                "-l",
                str(self.root / "server.log"),
                "-w",
                "-t",
                "60",
                "start",
            ),
            check=True,
            capture_output=True,
        )
        self.pid = int((self.data / "postmaster.pid").read_text().split()[0])

    def connect(self, dbname: str = "postgres", user: str = SUPERUSER, password: str | None = None):
        import psycopg2

        conn = psycopg2.connect(
            host=self.host,
            port=self.port,
            dbname=dbname,
            user=user,
            password=self.superuser_password if password is None else password,
        )
        conn.autocommit = True
        return conn

    def run_sql(self, sql: str, params: object = None, dbname: str = "postgres") -> None:
        conn = self.connect(dbname)
        try:
            with conn.cursor() as cur:
                cur.execute(sql, params)
        finally:
            conn.close()

    def log_text(self) -> str:
        """The server log (every statement is logged: tests count the queries a client sent)."""
        return (self.root / "server.log").read_text(errors="replace")

    def stop(self) -> None:
        """Fast shutdown by the postmaster's PID, then remove a throw-away cluster."""
        if self.pid is not None:
            try:
                os.kill(self.pid, signal.SIGINT)
            except ProcessLookupError:
                pass
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    os.kill(self.pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.05)
            else:
                os.kill(self.pid, signal.SIGKILL)
            self.pid = None
        if not self.keep:
            shutil.rmtree(self.root, ignore_errors=True)
