"""No network traffic at run time, proven two ways.

1. A scan (in-process, and on a 2-worker LocalCluster) runs with a `sitecustomize` guard on
   PYTHONPATH that wraps socket connect/connect_ex/sendto/sendmsg and getaddrinfo in every
   Python process (Dask's workers are spawned with the same environment) and logs any
   destination that is not loopback (127.0.0.0/8, ::1) or a unix socket. The scan must pass
   and the log must stay empty. A self-test shows the guard does catch a real connect.
2. The same scan runs inside a network namespace with only loopback (`unshare -n`), where
   any outside traffic would fail, and must pass.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests import hostile
from tests.accounting import assert_accounting

GUARD = r'''
"""Test guard (tests/test_no_network.py): log every non-loopback network destination."""
import ipaddress, os, socket

_LOG = os.environ.get("SEIZED_NET_GUARD_LOG")


def _loopback(host):
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    host = str(host).split("%")[0]
    if host in ("localhost", "localhost.localdomain", "", "0.0.0.0", "::"):
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    if getattr(ip, "ipv4_mapped", None):
        ip = ip.ipv4_mapped
    return ip.is_loopback or ip.is_unspecified


def _violation(what, dest):
    line = f"{os.getpid()} {what} {dest!r}\n"
    if _LOG:
        with open(_LOG, "a") as fh:
            fh.write(line)
    raise OSError(101, f"network guard: {what} to {dest!r} refused")


def _check_addr(sock, what, address):
    if sock.family == getattr(socket, "AF_UNIX", None):
        return
    if isinstance(address, tuple) and address and not _loopback(address[0]):
        _violation(what, address)


for _name in ("connect", "connect_ex"):
    _orig = getattr(socket.socket, _name)
    def _wrap(self, address, _orig=_orig, _name=_name):
        _check_addr(self, _name, address)
        return _orig(self, address)
    setattr(socket.socket, _name, _wrap)

_orig_sendto = socket.socket.sendto
def _sendto(self, data, *args):
    _check_addr(self, "sendto", args[-1])
    return _orig_sendto(self, data, *args)
socket.socket.sendto = _sendto

_orig_sendmsg = socket.socket.sendmsg
def _sendmsg(self, buffers, ancdata=(), flags=0, address=None):
    if address is not None:
        _check_addr(self, "sendmsg", address)
        return _orig_sendmsg(self, buffers, ancdata, flags, address)
    return _orig_sendmsg(self, buffers, ancdata, flags)
socket.socket.sendmsg = _sendmsg

_orig_getaddrinfo = socket.getaddrinfo
def _getaddrinfo(host, *args, **kwargs):
    if not _loopback(host):
        _violation("getaddrinfo", host)
    return _orig_getaddrinfo(host, *args, **kwargs)
socket.getaddrinfo = _getaddrinfo

_orig_gethostbyname = socket.gethostbyname
def _gethostbyname(host):
    if not _loopback(host):
        _violation("gethostbyname", host)
    return _orig_gethostbyname(host)
socket.gethostbyname = _gethostbyname
'''


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("no-network")


@pytest.fixture(scope="module")
def guard(work: Path) -> tuple[dict[str, str], Path]:
    folder = work / "guard"
    folder.mkdir()
    (folder / "sitecustomize.py").write_text(GUARD)
    log = work / "violations.log"
    env = {"PYTHONPATH": os.pathsep.join([str(folder), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
           "SEIZED_NET_GUARD_LOG": str(log)}
    return env, log


@pytest.fixture(scope="module")
def image(work: Path) -> Path:
    files = {"home/spammer/mail.eml": b"From: boss@spam.example.org\nTo: a@example.org\n\nhttp://pharma.example.com/\n",
             "etc/tor/torrc": b"HiddenServiceDir /var/lib/tor/hs\nHiddenServicePort 80 127.0.0.1:8080\n"}
    return hostile.ext4_with_files(work / "img" / "net.ext4.raw", files, 4)


@pytest.fixture(scope="module")
def rules(work: Path) -> Path:
    return hostile.marker_rules(work / "marker.yar")


def test_guard_catches_a_real_connect(guard) -> None:
    env, log = guard
    code = ("import socket\ntry:\n socket.create_connection(('192.0.2.1', 9), timeout=0.5)\n"
            "except OSError as e:\n print(e)\n")
    proc = subprocess.run([sys.executable, "-c", code], env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=60)
    assert "network guard" in proc.stdout, proc.stdout + proc.stderr
    assert "192.0.2.1" in log.read_text()
    log.unlink()


@pytest.mark.parametrize("workers", ["0", "2"])
def test_scan_opens_no_outside_socket(guard, image: Path, rules: Path, work: Path, workers: str) -> None:
    env, log = guard
    case = work / f"case-guard-{workers}"
    args = hostile.scan_args([image], case, rules)
    args[args.index("--workers") + 1] = workers
    m = hostile.run_measured(*args, env=env, timeout=240)
    violations = log.read_text() if log.exists() else ""
    assert m.returncode == 0, m.stderr[-3000:]
    assert violations == "", f"non-loopback network use:\n{violations}"
    assert_accounting(case)


def _unshare_works() -> bool:
    if not shutil.which("unshare"):
        return False
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True, timeout=30)
    return probe.returncode == 0


def test_scan_in_a_namespace_without_network(image: Path, rules: Path, work: Path) -> None:
    if not _unshare_works():
        pytest.skip("`unshare -n` is not available here (needs util-linux and CAP_SYS_ADMIN)")
    ip = shutil.which("ip") or shutil.which("ip", path="/usr/sbin:/sbin")
    if not ip:
        pytest.skip("`ip` (iproute2) is not installed: cannot bring loopback up for Dask")
    case = work / "case-unshare"
    args = " ".join(f"'{a}'" for a in hostile.scan_args([image], case, rules))
    args = args.replace("'--workers' '0'", "'--workers' '2'")
    script = f"{ip} link set lo up && exec '{sys.executable}' -m seized {args}"
    proc = subprocess.run(["unshare", "-n", "sh", "-c", script], capture_output=True, text=True, timeout=240,
                          cwd=hostile.REPO)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert_accounting(case)
    # inside the namespace there was only loopback: prove it was so
    probe = subprocess.run(["unshare", "-n", ip, "-o", "link"], capture_output=True, text=True, timeout=30)
    assert [ln.split(":")[1].strip() for ln in probe.stdout.splitlines()] == ["lo"]

