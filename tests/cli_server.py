"""`python -m seized ARGS` for the tests, without paying seized's imports on every run.

Why: a test run starts the CLI about 150 times, and each fresh `python -m seized` spent about
a CPU second importing pyarrow, numpy, the extractors and the report code before doing
milliseconds of work (a refused case directory) or a second of it (a scan of a few MiB): on
the 2-core machine that was most of `make test-fast`.

Each run is still a real process of its own: this server imports seized's modules once and
forks a child per run; the child takes the test's arguments (sys.argv as `python -m seized`
sets it), working folder, environment and a stdin of /dev/null, writes to its own stdout and
stderr files, runs `seized/__main__.py` as `__main__` (`seized.cli.main()`, which umasks,
installs the signal handlers and ends with os._exit of the exit code) and is reaped here;
the test reads its exit status, stdout and stderr as from any child. What differs from a fresh
interpreter is only what importing does once: a module's import-time warnings and failures,
and the modules a command happens to import. Tests of those keep a fresh process:
`seized_cli` (conftest), `hostile.run_measured` (memory of the process tree), and every test
that starts `python -m seized` itself (signals, namespaces, environment). When the test's
environment differs from the one the server started with, the server is started again with
it (libraries read some variables as they are imported). SEIZED_TEST_FRESH_CLI=1 makes
`run_seized` start a fresh interpreter for every run (the suite the old way).

The protocol, one JSON object a line on a pipe each way: request
{"args", "cwd", "env", "stdout", "stderr"}; replies {"pid"} once the child is forked, then
{"pid", "status"} (the raw wait status) once it has ended.
"""
from __future__ import annotations

import atexit
import gc
import json
import os
import select
import signal
import subprocess
import sys
import threading
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# what the commands import after `seized.cli` (each imports its own lazily)
PRELOAD = ("seized.cli", "seized.conductor", "seized.ruleset", "seized.offline", "reports.render",
           "reports.verify", "reports.casedir", "reports.show", "exports.run", "exports.sql",
           "seized.timeline_cli")
FRESH_ENV = "SEIZED_TEST_FRESH_CLI"
_PER_TEST = "PYTEST_CURRENT_TEST"  # pytest changes it for every test; passed on, not compared


# ---------------------------------------------------------------------------------------------
# The server (python -m tests.cli_server)


def _serve() -> None:
    requests = os.fdopen(os.dup(0), "rb")
    replies = os.fdopen(os.dup(1), "wb", buffering=0)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(2, 1)  # anything an import prints goes to stderr, never into the replies
    import importlib

    for name in PRELOAD:
        importlib.import_module(name)
    gc.collect()
    gc.freeze()  # the children's collections leave the imported objects' pages shared
    for line in requests:
        request = json.loads(line)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            _child(request, requests.fileno(), replies.fileno())
        replies.write(json.dumps({"pid": pid}).encode() + b"\n")
        _, status = os.waitpid(pid, 0)
        replies.write(json.dumps({"pid": pid, "status": status}).encode() + b"\n")


def _child(request: dict, *server_fds: int) -> None:
    """Become `python -m seized ARGS` (never returns)."""
    code = 1
    try:
        os.setpgid(0, 0)  # its own process group: a timeout kills the run and its workers
        for fd in server_fds:
            os.close(fd)
        for fd, path in ((1, request["stdout"]), (2, request["stderr"])):
            opened = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.dup2(opened, fd)
            os.close(opened)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.path[0] = request["cwd"]  # as `python -m` sets it
        signal.signal(signal.SIGINT, signal.default_int_handler)
        import runpy

        sys.argv = ["-m", *request["args"]]  # runpy sets argv[0] to seized/__main__.py
        runpy.run_module("seized", run_name="__main__", alter_sys=True)  # main() ends in os._exit
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # what the interpreter would print for an uncaught exception
        import traceback

        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


# ---------------------------------------------------------------------------------------------
# The client (in the pytest process)


def _env_key(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k != _PER_TEST}


class CliServer:
    """One server per test process, started at its first run, stopped when the process exits."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self._env: dict[str, str] = {}
        self._lock = threading.Lock()
        self._registered = False

    @staticmethod
    def usable() -> bool:
        """False when every run is to be a fresh interpreter (SEIZED_TEST_FRESH_CLI=1)."""
        return os.environ.get(FRESH_ENV) != "1"

    def _start(self) -> subprocess.Popen[bytes]:
        if self._proc is not None and _env_key(dict(os.environ)) != self._env:
            self.stop()  # imported under another environment
        if self._proc is None or self._proc.poll() is not None:
            self._env = _env_key(dict(os.environ))
            self._proc = subprocess.Popen([sys.executable, "-m", "tests.cli_server"], cwd=REPO,
                                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
            if not self._registered:
                atexit.register(self.stop)
                self._registered = True
        return self._proc

    def started_with(self) -> dict[str, str] | None:
        """The environment the running server was started with (None: not running)."""
        return None if self._proc is None else dict(self._env)

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.stdin.close()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def run(self, args: list[str], timeout: float, cwd: Path, out: Path, err: Path) -> int:
        """Run `python -m seized ARGS` as a child of the server; its exit code as subprocess
        gives it (negative: killed by that signal). Raises subprocess.TimeoutExpired after
        killing the run's process group, as subprocess.run does at `timeout`."""
        with self._lock:
            proc = self._start()
            request = {"args": args, "cwd": os.fspath(Path(cwd).resolve()), "env": dict(os.environ),
                       "stdout": os.fspath(out), "stderr": os.fspath(err)}
            proc.stdin.write(json.dumps(request).encode() + b"\n")
            proc.stdin.flush()
            pid = self._reply(proc, None)["pid"]
            try:
                reply = self._reply(proc, timeout)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self._reply(proc, None)
                raise subprocess.TimeoutExpired(["python", "-m", "seized", *args], timeout) from None
            return os.waitstatus_to_exitcode(reply["status"])

    @staticmethod
    def _reply(proc: subprocess.Popen[bytes], timeout: float | None) -> dict:
        if timeout is not None:
            ready, _, _ = select.select([proc.stdout], [], [], timeout)
            if not ready:
                raise subprocess.TimeoutExpired("seized", timeout)
        line = proc.stdout.readline()  # unbuffered: a second reply is never hidden from select
        if not line:
            raise RuntimeError(f"the test CLI server ended (exit {proc.wait()}); see its stderr above")
        return json.loads(line)


SERVER = CliServer()


if __name__ == "__main__":
    _serve()
