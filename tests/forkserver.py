"""A warm hossctl for tests that run it as a separate command, dozens of times.

A short ``python -m hossctl`` run spends most of its CPU importing (httpx, jsonschema, yaml,
asyncio): about 0.4 s on the CI machine, times every run of the hostile-server matrix and of
the CI recipes. The fork server imports hossctl once. For each run it forks a process that
takes the caller's arguments, environment, working directory and standard streams (passed
as file descriptors) and runs ``hossctl.launch.main``, the console script's entry point: a
process of its own (own pid, own memory, killed on its own), minus the imports.

What a fork does not give, a test that needs it runs the real thing: ``test_demo`` starts a
fresh interpreter, the signal tests run ``python -m hossctl``, and the benchmarks that compare
start-up never use this.

Protocol, over a Unix socket: the client sends an 8-byte length and a JSON request
(``argv``, ``env``, ``cwd``) with its stdin, stdout and stderr as SCM_RIGHTS descriptors. A
monitor process forked for the request forks the run, answers ``pid N``, waits for it and
answers ``exit CODE MAXRSS_KB CPU_S``. The server itself stays single-threaded, so a fork
never copies a lock held by another thread.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

_HEADER = struct.Struct("!Q")
# Imported up front, so that no run pays for them: what plan, apply, export and show import lazily.
WARM = (
    "hossctl.launch",
    "hossctl.cli",
    "hossctl.commands.plan",
    "hossctl.commands.apply",
    "hossctl.commands.export",
    "hossctl.config.loader",
    "hossctl.render.text",
    "hossctl.render.export_yaml",
    "hossctl.render.diagnostics_json",
    "hossctl.plan.planfile",
)


# -- the server --------------------------------------------------------------------------------


def serve(path: str, source_root: str) -> None:
    sys.path.insert(0, source_root)
    import importlib

    for module in WARM:
        importlib.import_module(module)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # monitors are reaped by the kernel
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(path)
        listener.listen(128)
        print("ready", flush=True)
        while True:
            connection, _ = listener.accept()
            if os.fork() == 0:  # the monitor of this run
                listener.close()
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                try:
                    _monitor(connection)
                finally:
                    os._exit(0)
            connection.close()


def _recv_exactly(connection: socket.socket, size: int, first: bytes = b"") -> bytes:
    data = first
    while len(data) < size:
        chunk = connection.recv(size - len(data))
        if not chunk:
            raise EOFError("the client hung up")
        data += chunk
    return data


def _monitor(connection: socket.socket) -> None:
    message, fds, _, _ = socket.recv_fds(connection, 1 << 16, 3)
    header = _recv_exactly(connection, _HEADER.size, message[: _HEADER.size])
    (size,) = _HEADER.unpack(header)
    request = json.loads(_recv_exactly(connection, size, message[_HEADER.size :]))
    pid = os.fork()
    if pid == 0:
        connection.close()
        _run(request, fds)
    for fd in fds:
        os.close(fd)
    connection.sendall(f"pid {pid}\n".encode())
    _, status, usage = os.wait4(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    cpu = usage.ru_utime + usage.ru_stime
    connection.sendall(f"exit {code} {usage.ru_maxrss} {cpu:.4f}\n".encode())


def _run(request: dict[str, object], fds: list[int]) -> None:
    """In the forked run: become the command the caller asked for, then exit with its code."""
    import traceback

    code = 1
    try:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD):
            signal.signal(signum, signal.default_int_handler if signum == signal.SIGINT else signal.SIG_DFL)
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        env = request["env"]
        assert isinstance(env, dict)
        os.environ.clear()
        os.environ.update({str(k): str(v) for k, v in env.items()})
        os.chdir(str(request["cwd"]))
        sys.stdin = open(0, encoding="utf-8", closefd=False)
        sys.stdout = open(1, "w", encoding="utf-8", closefd=False, buffering=1)
        sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False, buffering=1)
        argv = request["argv"]
        assert isinstance(argv, list)
        sys.argv = ["hossctl", *map(str, argv)]
        from hossctl.launch import main

        try:
            main()
            code = 0
        except SystemExit as exc:
            if exc.code is None or isinstance(exc.code, int):
                code = exc.code or 0
            else:
                print(exc.code, file=sys.stderr)
                code = 1
    except BaseException:  # what an interpreter would print for an uncaught exception
        traceback.print_exc()
        code = 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
        os._exit(code)


# -- the client ----------------------------------------------------------------------------------


@dataclass
class Exited:
    code: int
    maxrss_kb: int
    cpu_s: float


class Run:
    """One run in progress: its pid (for /proc and kill) and, once it ends, how."""

    def __init__(self, connection: socket.socket) -> None:
        self._connection = connection
        self._buffer = b""
        self.pid = int(self._line().split()[1])
        self.exited: Exited | None = None

    def _line(self, timeout: float | None = None) -> str:
        self._connection.settimeout(timeout)
        while b"\n" not in self._buffer:
            chunk = self._connection.recv(4096)
            if not chunk:
                raise EOFError("the fork server hung up")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode()

    def poll(self) -> Exited | None:
        if self.exited is None:
            try:
                _, code, rss, cpu = self._line(timeout=0).split()
            except (BlockingIOError, TimeoutError):
                return None
            self.exited = Exited(int(code), int(rss), float(cpu))
            self._connection.close()
        return self.exited

    def wait(self, timeout: float | None = None) -> Exited:
        deadline = None if timeout is None else time.monotonic() + timeout
        while (found := self.poll()) is None:
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"run {self.pid} still going after {timeout} s")
            time.sleep(0.01)
        return found

    def kill(self) -> None:
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def start_run(path: str, argv: list[str], env: dict[str, str], cwd: str, fds: tuple[int, int, int]) -> Run:
    payload = json.dumps({"argv": argv, "env": env, "cwd": cwd}).encode()
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    connection.connect(path)
    socket.send_fds(connection, [_HEADER.pack(len(payload))], list(fds))
    connection.sendall(payload)
    return Run(connection)


class ForkServer:
    """The server process for one source tree, started on first use, stopped at exit."""

    def __init__(self, source_root: Path) -> None:
        self._directory = tempfile.mkdtemp(prefix="hossctl-fork-")
        self.path = os.path.join(self._directory, "s")
        self._process = subprocess.Popen(
            [sys.executable, __file__, self.path, str(source_root)],
            stdout=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        assert self._process.stdout is not None
        if self._process.stdout.readline().strip() != "ready":
            raise RuntimeError("the hossctl fork server did not start")

    def run(self, argv: list[str], env: dict[str, str], cwd: str, fds: tuple[int, int, int]) -> Run:
        return start_run(self.path, argv, env, cwd, fds)

    def stop(self) -> None:
        self._process.kill()
        self._process.wait()
        try:
            os.unlink(self.path)
            os.rmdir(self._directory)
        except OSError:
            pass


_SERVERS: dict[Path, ForkServer] = {}


def fork_server(source_root: Path) -> ForkServer:
    """The one fork server of this test process for ``source_root``."""
    import atexit

    root = source_root.resolve()
    if root not in _SERVERS:
        _SERVERS[root] = ForkServer(root)
        atexit.register(_SERVERS[root].stop)
    return _SERVERS[root]


# A command-line stand-in for ``hossctl`` that runs through a fork server: argv, environment,
# working directory and the standard streams are this process's; it exits with the run's code.
SHIM = """#!{python}
import json, os, socket, struct, sys
with open({log!r}, "a", encoding="utf-8") as log:
    log.write(json.dumps(sys.argv[1:]) + "\\n")
payload = json.dumps({{"argv": sys.argv[1:], "env": dict(os.environ), "cwd": os.getcwd()}}).encode()
connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
connection.connect({path!r})
socket.send_fds(connection, [struct.pack("!Q", len(payload))], [0, 1, 2])
connection.sendall(payload)
buffer = b""
while buffer.count(b"\\n") < 2:
    chunk = connection.recv(4096)
    if not chunk:
        sys.exit("hossctl: the test fork server hung up")
    buffer += chunk
sys.exit(int(buffer.split(b"\\n")[1].split()[1]))
"""


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2])
