"""The command line, started without its imports for each test: a fork server per worker.

Most of a `mailer` command's 0.7 s in the tests was Python importing typer, pydantic, jinja2
and our own modules, for each of the suite's thousands of commands. Here one interpreter per
xdist worker imports them once and forks a copy of itself for each command. The command is
still a process of its own: its own pid, working directory, environment and umask, its
output through real pipes, its exit code from its own `sys.exit`, and nothing of one command
is left for the next (each fork starts from the server's state, where no command ever ran).

Commands whose environment changes how an interpreter starts (libfaketime's `LD_PRELOAD`,
`PYTHON*`, the locale) are started the ordinary way, as is everything when
`MAILER_TEST_FORKSERVER=0`; `tests/test_readme.py` runs README's commands as a user types
them, through the installed `mailer` script.
"""

from __future__ import annotations

import atexit
import contextlib
import io
import json
import os
import pkgutil
import selectors
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import traceback
from importlib import import_module
from pathlib import Path

STARTUP_KEYS = ("PYTHON", "LD_", "FAKETIME", "LC_", "LANG", "DONT_FAKE")
"""Environment variables read when an interpreter starts: a command that changes one is not forked."""


def _preload() -> None:
    """Import every module of mailer (not `__main__`, which would run the command line)."""
    import mailer

    for info in pkgutil.walk_packages(mailer.__path__, "mailer."):
        if info.name.endswith("__main__"):
            continue
        with contextlib.suppress(Exception):  # a part that cannot load reports it when used
            import_module(info.name)


def _exit_code(exc: SystemExit) -> int:
    """What the interpreter would make of `sys.exit(code)`."""
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    print(exc.code, file=sys.stderr)
    return 1


def _command(conn: socket.socket, request: dict, fds: list[int]) -> None:
    """In the forked child: become the command, run it, report its exit code, exit."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    os.environ.clear()
    os.environ.update(request["env"])
    time.tzset()
    os.chdir(request["cwd"])
    sys.path[0] = request["cwd"]  # as `python -m` puts it
    sys.argv = [str(Path(sys.modules["mailer"].__file__).with_name("__main__.py")), *request["args"]]
    sys.modules["__main__"].__package__ = "mailer"  # so usage lines say `python -m mailer`
    conn.sendall(struct.pack("!i", os.getpid()))
    code = 0
    try:
        from mailer.cli.app import main

        main()
    except SystemExit as exc:
        code = _exit_code(exc)
    except BaseException:
        traceback.print_exc()
        code = 1
    try:
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        conn.sendall(struct.pack("!i", code))
        os._exit(code)


def _receive(conn: socket.socket) -> tuple[dict, list[int]]:
    data, fds, _flags, _addr = socket.recv_fds(conn, 1 << 16, 3)
    (size,) = struct.unpack("!I", data[:4])
    while len(data) < 4 + size:
        more = conn.recv(1 << 16)
        if not more:
            raise EOFError
        data += more
    return json.loads(data[4 : 4 + size]), list(fds)


def serve(path: str) -> None:
    """The server: import once, then fork a command for each connection, until stdin closes."""
    sys.path[0] = os.getcwd()
    _preload()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the children are reaped by the kernel
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    selector.register(sys.stdin, selectors.EVENT_READ)
    print("ready", flush=True)
    while True:
        for key, _ in selector.select():
            if key.fileobj is sys.stdin:
                return  # the worker that started us is gone
            conn, _ = listener.accept()
            try:
                request, fds = _receive(conn)
            except (OSError, EOFError, ValueError):
                conn.close()
                continue
            sys.stdout.flush()
            sys.stderr.flush()
            if os.fork() == 0:
                selector.close()
                listener.close()
                _command(conn, request, fds)
            for fd in fds:
                os.close(fd)
            conn.close()


class ForkServer:
    """The tests' side: start the server once, then run commands through it."""

    def __init__(self) -> None:
        self.folder = tempfile.mkdtemp(prefix="mailer-fork-")
        self.path = os.path.join(self.folder, "s")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("MAILER_")}
        self._start()

    def _start(self) -> None:
        Path(self.path).unlink(missing_ok=True)
        self.process = subprocess.Popen(
            [sys.executable, __file__, self.path],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=self.env,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if line.strip() != b"ready":
            raise RuntimeError(f"the tests' fork server did not start: {line!r}")

    def _connect(self) -> socket.socket:
        """A connection to the server; one that died (a test killed it, the kernel did) is
        started again, before anything of the command was sent, so no command runs twice."""
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            conn.connect(self.path)
            return conn
        except OSError:
            conn.close()
            if self.process.poll() is None:
                raise
        self._start()
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.connect(self.path)
        return conn

    def forks(self, env: dict[str, str]) -> bool:
        """Whether a command with this environment may be forked (else it is started as usual)."""
        keys = {k for k in (*env, *self.env) if k.startswith(STARTUP_KEYS)}
        return all(env.get(k) == self.env.get(k) for k in keys)

    def run(self, args: list[str], env: dict[str, str], timeout: float) -> tuple[int, str, str]:
        """Like `subprocess.run(..., capture_output=True, text=True)`: exit code, stdout, stderr."""
        conn = self._connect()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        stdin = os.open(os.devnull, os.O_RDONLY)
        try:
            payload = json.dumps({"args": args, "env": env, "cwd": os.getcwd()}).encode()
            message = struct.pack("!I", len(payload)) + payload
            sent = socket.send_fds(conn, [message], [stdin, out_w, err_w])
            conn.sendall(message[sent:])
        finally:
            for fd in (stdin, out_w, err_w):
                os.close(fd)
        return self._collect(conn, out_r, err_r, args, timeout)

    def _collect(
        self, conn: socket.socket, out_r: int, err_r: int, args: list[str], timeout: float
    ) -> tuple[int, str, str]:
        deadline = time.monotonic() + timeout
        pid = None
        replies = b""
        output: dict[int, list[bytes]] = {out_r: [], err_r: []}
        selector = selectors.DefaultSelector()
        for fd in (out_r, err_r):
            selector.register(fd, selectors.EVENT_READ)
        selector.register(conn, selectors.EVENT_READ)
        open_ = 3
        try:
            while open_:
                left = deadline - time.monotonic()
                if left <= 0:
                    if pid is not None:
                        os.kill(pid, signal.SIGKILL)
                    raise subprocess.TimeoutExpired(["mailer", *args], timeout)
                for key, _ in selector.select(left):
                    if key.fileobj is conn:
                        data = conn.recv(64)
                        replies += data
                        if pid is None and len(replies) >= 4:
                            (pid,) = struct.unpack("!i", replies[:4])
                    else:
                        data = os.read(key.fd, 1 << 16)
                        output[key.fd].append(data)
                    if not data:
                        selector.unregister(key.fileobj)
                        open_ -= 1
        finally:
            selector.close()
            conn.close()
            os.close(out_r)
            os.close(err_r)
        code = struct.unpack("!i", replies[4:8])[0] if len(replies) >= 8 else -signal.SIGKILL
        return code, _text(output[out_r]), _text(output[err_r])

    def stop(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            self.process.wait(10)
        Path(self.path).unlink(missing_ok=True)
        os.rmdir(self.folder)


def _text(chunks: list[bytes]) -> str:
    """As `subprocess.run(text=True)` decodes: the locale's encoding, universal newlines."""
    return io.TextIOWrapper(io.BytesIO(b"".join(chunks))).read()


if __name__ == "__main__":
    serve(sys.argv[1])
