"""``pbs-sim explore`` as a user runs it, in a subprocess: an address or port the server cannot
use is one line and exit status 2 before "serving at" is said; Ctrl-C ends it with exit status 130.

Waiting is bounded by the command's own output (it says "serving at" once the port is bound), not
by a clock; each subprocess timeout is only a guard against a hang.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HANG_GUARD_S = 300  # a guard against a hang only: no test decides anything on it


def _explore(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pbs_sim", "explore", "--no-browser", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=HANG_GUARD_S, env={**os.environ, "PYTHONPATH": str(ROOT)})


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port another server listens on (this test's own socket)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_port_in_use_is_one_line_before_serving(busy_port: int) -> None:
    res = _explore("--port", str(busy_port))
    assert res.returncode == 2, res.stderr
    assert res.stderr == (f"pbs-sim: error: --port: {busy_port} is in use on 127.0.0.1 (another server listens "
                          "there; choose another --port)\n")
    assert "serving at" not in res.stdout + res.stderr


@pytest.mark.parametrize(
    ("address", "reason"),
    [("::1", "'::1' is an IPv6 address; the page server (Bokeh) takes host names and IPv4 addresses only"),
     ("192.0.2.1", "cannot serve on 192.0.2.1 port"),  # TEST-NET-1: no interface of this host has it
     ("", "empty")],
)
def test_an_address_the_server_cannot_use_is_one_line(address: str, reason: str) -> None:
    res = _explore("--address", address, "--port", str(_free_port()))
    assert res.returncode == 2, res.stderr
    assert res.stderr.startswith(f"pbs-sim: error: --address: {reason}") and res.stderr.count("\n") == 1
    assert "Traceback" not in res.stderr and "serving at" not in res.stderr


def test_ctrl_c_exits_130() -> None:
    pytest.importorskip("panel")
    proc = subprocess.Popen([sys.executable, "-m", "pbs_sim", "explore", "--no-browser", "--port", str(_free_port())],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert proc.stderr is not None
        before = []
        for line in proc.stderr:  # until the server says it serves (or the process ends)
            before.append(line)
            if "serving at" in line:
                break
        assert before and "serving at" in before[-1], "".join(before)
        # one page request: answered once the server runs (Panel's own SIGINT handler is installed
        # by then), so the interrupt below reaches the running server, not the start-up
        url = before[-1].split("serving at ")[1].split()[0]
        with urllib.request.urlopen(url, timeout=HANG_GUARD_S) as page:
            assert page.status == 200
        proc.send_signal(signal.SIGINT)
        rest = proc.stderr.read()
        code = proc.wait(timeout=HANG_GUARD_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert code == 130, rest
    assert "Traceback" not in rest and rest.strip() == "pbs-sim: interrupted", rest
