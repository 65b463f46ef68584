"""A private PostgreSQL cluster for fault tests that stop and start the database.

The shared server on 5432 is used by every other test process and is never touched: the cluster lives in its own
temporary directory, listens on a free port and keeps its unix socket there. initdb and pg_ctl refuse to run as
root, so as root they run as the `postgres` system user.
"""

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivatePostgres:
    def __init__(self):
        self.root = Path(tempfile.mkdtemp(prefix="sttt-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.port = free_port()
        if os.geteuid() == 0:
            account = pwd.getpwnam("postgres")
            os.chown(self.root, account.pw_uid, account.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]
        else:
            self._as = []

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        result = subprocess.run([*self._as, *args], capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError(f"{args[0]} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}\n"
                               + (self.log.read_text() if self.log.exists() else ""))
        return result

    def init(self) -> None:
        self._run(str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                  "--no-sync", "--no-instructions")

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c max_connections=50")
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.log), "-w", "-t", "30",
                  "start")

    def stop(self, mode: str = "immediate") -> None:
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "30", "stop")

    def running(self) -> bool:
        status = subprocess.run([*self._as, str(PG_BIN / "pg_ctl"), "-D", str(self.data), "status"],
                                capture_output=True, text=True)
        return status.returncode == 0

    def createdb(self, name: str) -> None:
        self._run(str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)

    def url(self, name: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def destroy(self) -> None:
        try:
            if self.data.exists() and self.running():
                self.stop("immediate")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
