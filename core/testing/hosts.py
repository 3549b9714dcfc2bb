"""Worker hosts on one machine: network namespaces joined to this one by veth links.

Each host is a namespace with its own network stack, a veth link to the machine (a private
/30: 10.B.N.1 on the machine's side, 10.B.N.2 on the host's) and its own hostname (the
processes run under `unshare --uts`), so a worker started there records that name in its
leases and heartbeats (`socket.gethostname()`). The shared services (PostgreSQL, Redis, the
SMTP server) keep listening on 127.0.0.1 only: a relay of ours listens on each link's
machine-side address and forwards to them, and each host resolves `services.postroom.test` to
its own link (`/etc/netns/<namespace>/hosts`, which `ip netns exec` puts in place of
/etc/hosts). Taking a link down (`cut`) therefore stops all of that host's traffic to the
database, the broker and the SMTP server; `kill` is the host's power cut (SIGKILL to every
process in it). `close` removes everything made here: processes, relay, links, namespaces.

Needs root and iproute2. `scripts/multi-host` and `campaigns/tests/test_multi_host.py` use it.
"""

# Every command here is iproute2, util-linux or our own interpreter, with our own arguments.
# ruff: noqa: S603, S607

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

SERVICES_NAME = "services.postroom.test"
RELAY = Path(__file__).with_name("relay.py")
NETNS_ETC = Path("/etc/netns")


def unavailable() -> str | None:
    """Why worker hosts cannot be made here, or None."""
    if sys.platform != "linux":
        return "network namespaces need Linux"
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None or shutil.which("unshare") is None:
        return "iproute2 (`ip netns`) or util-linux (`unshare`) is not installed"
    probe = subprocess.run(["ip", "netns", "list"], capture_output=True, check=False)
    if probe.returncode != 0:
        return f"`ip netns` does not work here: {probe.stderr.decode().strip()}"
    return None


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


@dataclass
class Host:
    """One worker host: its namespace, link and hostname."""

    index: int
    namespace: str
    hostname: str
    outside: str  # the link's end on the machine (a name of at most 15 characters)
    inside: str
    outside_address: str  # where the relay listens for this host
    inside_address: str
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def run(
        self, args: list[str], *, env: dict[str, str], log: Path, cwd: Path
    ) -> subprocess.Popen[bytes]:
        """Start `args` on this host, under its hostname, in a session of its own."""
        command = [
            "ip", "netns", "exec", self.namespace, "unshare", "--uts", "--",
            "sh", "-c", 'hostname "$0" && exec "$@"', self.hostname, *args,
        ]  # fmt: skip
        with log.open("ab") as handle:
            proc = subprocess.Popen(
                command, cwd=cwd, env=env, stdout=handle, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        self.processes.append(proc)
        return proc

    def pids(self) -> list[int]:
        found = subprocess.run(
            ["ip", "netns", "pids", self.namespace], capture_output=True, check=False, timeout=30
        )
        return [int(pid) for pid in found.stdout.split()]

    def kill(self) -> None:
        """The host loses power: every process in it ends at once, nothing is cleaned up."""
        for _ in range(10):  # a process may be forking while we look
            pids = self.pids()
            if not pids:
                break
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.1)
        for proc in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=30)

    def cut(self) -> None:
        """Unplug the host's cable: its connections stall (no reset reaches either side)."""
        _ip("link", "set", self.outside, "down")

    def restore(self) -> None:
        _ip("link", "set", self.outside, "up")

    def reaches(self, port: int, timeout: float = 2.0) -> bool:
        """Whether a connection from inside the host to the services' `port` is answered."""
        code = (
            "import socket,sys\n"
            f"socket.create_connection(({SERVICES_NAME!r}, {port}), timeout={timeout}).close()"
        )
        probe = subprocess.run(
            ["ip", "netns", "exec", self.namespace, sys.executable, "-c", code],
            capture_output=True, check=False, timeout=timeout + 30,
        )  # fmt: skip
        return probe.returncode == 0


class WorkerHosts:
    """`count` worker hosts and the relay that lets them reach `ports` on 127.0.0.1."""

    def __init__(self, count: int, ports: list[int], *, log_dir: Path, prefix: str = "") -> None:
        if reason := unavailable():
            raise RuntimeError(reason)
        # A name and a network of this run's own, so that two runs on one machine do not meet.
        tag = prefix or f"pr{os.getpid()}"  # a link name must stay within 15 characters
        self.ports = ports
        self.log_dir = log_dir
        self.hosts: list[Host] = []
        self.relay: subprocess.Popen[bytes] | None = None
        second = self._free_network()
        try:
            for index in range(1, count + 1):
                self._make_host(tag, index, second)
            self._start_relay()
        except BaseException:
            self.close()
            raise

    @staticmethod
    def _free_network() -> int:
        used = subprocess.run(
            ["ip", "-4", "-o", "addr"], capture_output=True, check=True, text=True
        ).stdout
        candidates = [b for b in range(64, 128) if f" 10.{b}." not in used]
        return random.SystemRandom().choice(candidates)

    def _make_host(self, tag: str, index: int, second: int) -> None:
        host = Host(
            index=index,
            namespace=f"{tag}-host{index}",
            hostname=f"worker{index}.{tag}.postroom.test",
            outside=f"{tag}h{index}",
            inside=f"{tag}h{index}i",
            outside_address=f"10.{second}.{index}.1",
            inside_address=f"10.{second}.{index}.2",
        )
        _ip("netns", "add", host.namespace)
        self.hosts.append(host)  # from here on, `close` removes what was made of it
        _ip("link", "add", host.outside, "type", "veth", "peer", "name", host.inside)
        _ip("link", "set", host.inside, "netns", host.namespace)
        _ip("addr", "add", f"{host.outside_address}/30", "dev", host.outside)
        _ip("link", "set", host.outside, "up")
        inside = ["netns", "exec", host.namespace, "ip"]
        _ip(*inside, "addr", "add", f"{host.inside_address}/30", "dev", host.inside)
        _ip(*inside, "link", "set", host.inside, "up")
        _ip(*inside, "link", "set", "lo", "up")
        etc = NETNS_ETC / host.namespace
        etc.mkdir(parents=True, exist_ok=True)
        (etc / "hosts").write_text(
            f"127.0.0.1 localhost\n{host.outside_address} {SERVICES_NAME}\n"
            f"{host.inside_address} {host.hostname}\n"
        )
        (etc / "hostname").write_text(host.hostname + "\n")

    def _start_relay(self) -> None:
        routes = [
            f"{host.outside_address}:{port}=127.0.0.1:{port}"
            for host in self.hosts
            for port in self.ports
        ]
        with (self.log_dir / "relay.log").open("ab") as log:
            self.relay = subprocess.Popen(
                [sys.executable, str(RELAY), f"--parent={os.getpid()}", *routes],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + 60
        while not all(
            self._listening(h.outside_address, p) for h in self.hosts for p in self.ports
        ):
            if self.relay.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    "the relay did not start: see " + str(self.log_dir / "relay.log")
                )
            time.sleep(0.1)

    @staticmethod
    def _listening(address: str, port: int) -> bool:
        try:
            with socket.create_connection((address, port), timeout=1):
                return True
        except OSError:
            return False

    def close(self) -> None:
        """Remove every process, the relay, the links and the namespaces made here."""
        for host in self.hosts:
            with contextlib.suppress(Exception):
                host.kill()
        if self.relay is not None and self.relay.poll() is None:
            self.relay.kill()
            self.relay.wait(timeout=30)
        for host in self.hosts:
            # Deleting the namespace deletes the link's inside end, and with it the outside one.
            subprocess.run(
                ["ip", "netns", "delete", host.namespace], capture_output=True, check=False
            )
            subprocess.run(["ip", "link", "delete", host.outside], capture_output=True, check=False)
            shutil.rmtree(NETNS_ETC / host.namespace, ignore_errors=True)
        self.hosts = []

    def __enter__(self) -> WorkerHosts:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def through_relay(url: str) -> tuple[str, int]:
    """`url` (a service on this machine's loopback) as a worker host reaches it, and its port."""
    parts = urlsplit(url)
    if parts.hostname not in {"127.0.0.1", "localhost"}:
        raise ValueError(f"{url}: worker hosts reach only services on 127.0.0.1")
    default = {"postgres": 5432, "postgresql": 5432, "redis": 6379, "amqp": 5672}
    port = parts.port or default[parts.scheme]
    netloc = parts.netloc.rpartition("@")
    userinfo = netloc[0] + "@" if netloc[1] else ""
    return urlunsplit(parts._replace(netloc=f"{userinfo}{SERVICES_NAME}:{port}")), port


def celery_worker(host: Host, concurrency: int = 2) -> list[str]:
    """The production worker (README) as this host runs it, named after the host."""
    return [
        sys.executable, "-m", "celery", "-A", "postroom", "worker",
        "--concurrency", str(concurrency), "-n", f"worker@{host.hostname}",
        "--without-gossip", "--without-mingle", "--loglevel", "INFO",
    ]  # fmt: skip
