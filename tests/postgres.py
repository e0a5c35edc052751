"""A real PostgreSQL server for the tests: ``initdb`` and ``pg_ctl`` (the server binaries under
``/usr/lib/postgresql/*/bin``, or on ``PATH``) on a temporary directory, a free loopback port and
a socket directory of its own. ``initdb`` refuses to run as root, so as root the server runs as
the unprivileged user ``nobody``. Nothing here is a mock: a test that needs the server gets it or,
where it cannot start, is skipped locally and fails under ``CI=true``."""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest


def _binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version)
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


PORT_ATTEMPTS = 3


def _version(path: str) -> tuple[int, ...]:
    return tuple(int(p) for p in Path(path).parent.parent.name.split(".") if p.isdigit())


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PostgresServer:
    """One server: ``start()``, ``conninfo``, ``restart(mode)``, ``halt()`` and ``resume()``,
    ``freeze()`` and ``thaw()``, ``stop()``."""

    def __init__(self) -> None:
        binaries = _binaries()
        if binaries is None:
            raise RuntimeError("no PostgreSQL server binaries (initdb, pg_ctl) on this machine")
        self.bin = binaries
        self.root = Path(tempfile.mkdtemp(prefix="meeting-rules-pg-"))
        self.root.chmod(0o755)
        self.data = self.root / "data"
        self.run = self.root / "run"  # the socket and the log
        self._use_port(_free_port())
        self._as: dict[str, Any] = {}
        for folder in (self.data, self.run):
            folder.mkdir()
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            for folder in (self.data, self.run):
                os.chown(folder, nobody.pw_uid, nobody.pw_gid)
            self._as = {"user": nobody.pw_uid, "group": nobody.pw_gid, "extra_groups": []}

    def _run(self, *command: str, timeout: float = 60) -> None:
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, cwd=self.root, **self._as
        )
        if result.returncode != 0:
            raise RuntimeError(f"{Path(command[0]).name} failed: {result.stderr or result.stdout}")

    def start(self) -> PostgresServer:
        try:
            self._run(str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U",
                      "postgres", "-E", "UTF8", "--no-sync")  # fmt: skip
            for attempt in range(1, PORT_ATTEMPTS + 1):
                logged = self._log_size()
                try:
                    self._pg_ctl("start")
                    break
                except RuntimeError:
                    # The free port was taken between its choice and the server's bind (initdb
                    # takes seconds): another port, a few times.
                    if attempt == PORT_ATTEMPTS or not self._could_not_bind(since=logged):
                        raise
                    self._use_port(_free_port())
        except BaseException:
            self.stop()  # whatever started, stopped; the directory removed
            raise
        return self

    def _use_port(self, port: int) -> None:
        self.port = port
        self.conninfo = f"host=127.0.0.1 port={port} user=postgres dbname=postgres"

    def _log_size(self) -> int:
        log = self.run / "log"
        return log.stat().st_size if log.exists() else 0

    def _could_not_bind(self, *, since: int) -> bool:
        """Whether the log says so after its first ``since`` bytes (``pg_ctl -l`` appends)."""
        log = self.run / "log"
        return log.exists() and b"could not bind" in log.read_bytes()[since:]

    def _pg_ctl(self, action: str, *more: str) -> None:
        options = (
            f"-p {self.port} -k {self.run} -c listen_addresses=127.0.0.1 -c max_connections=200"
        )
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.run / "log"),
                  "-o", options, "-w", "-t", "60", action, *more)  # fmt: skip

    def restart(self, mode: str = "immediate") -> None:
        """``pg_ctl restart -m MODE``: ``immediate`` is a crash and recovery."""
        self._pg_ctl("restart", "-m", mode)

    def halt(self) -> None:
        """Stop the server, keeping its files, until ``resume``: an outage."""
        self._pg_ctl("stop", "-m", "fast")

    def resume(self) -> None:
        """Start a halted server again, on its port."""
        self._pg_ctl("start")

    def freeze(self) -> None:
        """Stop every process of the server (``SIGSTOP``) until ``thaw``: alive, its kernel
        acknowledging every packet, but answering nothing (a stalled host)."""
        self._signal_all(signal.SIGSTOP)

    def thaw(self) -> None:
        self._signal_all(signal.SIGCONT)

    def _signal_all(self, sent: signal.Signals) -> None:
        postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        children = [
            int(stat.parent.name)
            for stat in Path("/proc").glob("[0-9]*/stat")
            if _parent(stat) == postmaster
        ]
        for pid in (postmaster, *children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sent)

    def stop(self) -> None:
        try:
            self._pg_ctl("stop", "-m", "fast")
        except (RuntimeError, subprocess.TimeoutExpired):
            self._kill()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def _kill(self) -> None:
        """The server's process, killed by the pid it wrote, if ``pg_ctl stop`` could not."""
        try:
            pid = int((self.data / "postmaster.pid").read_text().split()[0])
            os.kill(pid, signal.SIGKILL)
        except (OSError, ValueError, IndexError):
            pass


def _parent(stat: Path) -> int | None:
    """The parent's pid in ``/proc/PID/stat``, read after the command's closing parenthesis."""
    try:
        return int(stat.read_text().rpartition(")")[2].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def server_or_skip() -> PostgresServer:
    """A started server; without one, a skip with the reason (a failure under ``CI=true``)."""
    try:
        return PostgresServer().start()
    except (RuntimeError, OSError, KeyError, subprocess.TimeoutExpired) as error:
        reason = f"PostgreSQL could not start: {error}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
