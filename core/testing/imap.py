"""A real IMAP and POP3 server for tests: Debian's Dovecot, started privately by the test.

`DovecotServer` writes a configuration into a temporary directory and runs ``dovecot -F``
from it: no system service, nothing under /etc, its own base directory, log and Maildirs.
It listens on 127.0.0.1 only, on four free ports:

- ``imap_port`` and ``pop3_port``: plaintext, with STARTTLS (STLS) offered; plaintext
  passwords are allowed on them since they are on loopback;
- ``imaps_port`` and ``pop3s_port``: implicit TLS.

The certificate is the SMTP sink's self-signed one (`default_test_cert`): a client trusts
it with `client_ssl_context()`. Users live in passwd-files (`add_user`), mail in Maildir.
`deliver()` puts messages into a mailbox by IMAP APPEND, as a mail server would leave them;
`reset()` empties every mailbox between tests.

Run as root (the CI machine), Dovecot's own processes run as the package's ``dovecot`` and
``dovenull`` users and the mail belongs to ``dovecot``; run as anyone else, everything runs
as that user. Install it with ``scripts/ensure-dovecot`` (``make test`` does).
"""

from __future__ import annotations

import contextlib
import ctypes
import grp
import imaplib
import os
import poplib
import pwd
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, Self, cast

from core.testing.smtp import default_test_cert

DEFAULT_BINARY = "/usr/sbin/dovecot"
DEFAULT_USER = "bounces"
DEFAULT_PASSWORD = "bounce-mailbox-password"  # noqa: S105 - a test server's
START_TIMEOUT = 15.0

_USER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_APPENDUID = re.compile(rb"APPENDUID \d+ (\d+)")
_APPENDUIDS = re.compile(rb"APPENDUID \d+ ([\d:,]+)")


class DovecotUnavailable(RuntimeError):
    """Dovecot (dovecot-imapd and dovecot-pop3d) is not installed on this machine."""


def dovecot_binary() -> str:
    return os.environ.get("POSTROOM_DOVECOT") or DEFAULT_BINARY


def dovecot_missing() -> str | None:
    """Why Dovecot cannot run here, or None when it can."""
    binary = dovecot_binary()
    if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
        return f"{binary} not found"
    modules = Path("/usr/lib/dovecot")
    for program in ("imap", "pop3", "imap-login", "pop3-login"):
        if not (modules / program).exists():
            return f"{modules / program} not found (install dovecot-imapd and dovecot-pop3d)"
    return None


class DovecotServer:
    """One private Dovecot instance; see the module's docstring."""

    def __init__(
        self,
        *,
        user: str = DEFAULT_USER,
        password: str = DEFAULT_PASSWORD,
        host: str = "127.0.0.1",
        introspection_url: str = "",
    ) -> None:
        self.host = host
        # Where XOAUTH2 (and OAUTHBEARER) tokens are checked; empty: passwords only.
        self.introspection_url = introspection_url
        self.user = user
        self.password = password
        self.imap_port = self.imaps_port = self.pop3_port = self.pop3s_port = 0
        self.cert_path, self.key_path = default_test_cert()
        self._users: dict[str, str] = {user: password}
        self._dir: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None

    # ----------------------------------------------------------------- lifecycle

    @property
    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def directory(self) -> Path:
        if self._dir is None:
            raise RuntimeError("the server has not been started")
        return self._dir

    def start(self) -> None:
        """Write the configuration and start Dovecot; return once every port answers.

        Raises DovecotUnavailable when Dovecot is not installed, RuntimeError (with the log)
        when it does not come up.
        """
        if self.is_running:
            raise RuntimeError(f"{self!r} is already running")
        missing = dovecot_missing()
        if missing:
            raise DovecotUnavailable(missing)
        if self._dir is None:
            # short: Dovecot's UNIX sockets live under it and their paths are limited to 108 bytes
            self._dir = Path(tempfile.mkdtemp(prefix="pr-dovecot-"))
            ports = _free_ports(self.host, 4)
            self.imap_port, self.imaps_port, self.pop3_port, self.pop3s_port = ports
        self._write_config()
        log = (self.directory / "master.out").open("ab")
        try:
            self._process = subprocess.Popen(  # noqa: S603 - a fixed binary and our own config
                [dovecot_binary(), "-F", "-c", str(self.directory / "dovecot.conf")],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                preexec_fn=_die_with_parent,
            )
        finally:
            log.close()
        self._wait_until_listening()

    def stop(self) -> None:
        """Stop Dovecot (its master process, which ends its children). The Maildirs stay until
        `cleanup()`, so a start() after stop() finds the mail it had."""
        process = self._process
        self._process = None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)

    def cleanup(self) -> None:
        """Stop and remove the temporary directory."""
        self.stop()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __enter__(self) -> Self:
        if not self.is_running:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.cleanup()

    def __repr__(self) -> str:
        state = "running" if self.is_running else "stopped"
        return (
            f"<DovecotServer {self.host} imap={self.imap_port} imaps={self.imaps_port} "
            f"pop3={self.pop3_port} pop3s={self.pop3s_port} {state}>"
        )

    def log(self) -> str:
        """Dovecot's log so far (for a failing test's message)."""
        parts = []
        for name in ("master.out", "dovecot.log"):
            path = self.directory / name
            if path.exists():
                parts.append(path.read_text("utf-8", "replace"))
        return "".join(parts)

    # ----------------------------------------------------------------- users and clients

    def add_user(self, user: str, password: str) -> None:
        """Add a user, with a mailbox of their own (again with the same password: no change)."""
        if not _USER_NAME.fullmatch(user):
            raise ValueError(f"{user!r}: a user name is letters, digits, '.', '_' or '-'")
        if self._users.get(user, password) != password:
            raise ValueError(f"{user!r} exists with another password")
        self._users[user] = password
        if self._dir is not None:
            self._write_passwd()

    def client_ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts this server's certificate (host name checked)."""
        return ssl.create_default_context(cafile=str(self.cert_path))

    @contextlib.contextmanager
    def imap(self, user: str | None = None, *, tls: bool = False) -> Iterator[imaplib.IMAP4]:
        """A logged-in IMAP client (plaintext port, or the implicit TLS one)."""
        client: imaplib.IMAP4
        if tls:
            client = imaplib.IMAP4_SSL(
                self.host, self.imaps_port, ssl_context=self.client_ssl_context(), timeout=10
            )
        else:
            client = imaplib.IMAP4(self.host, self.imap_port, timeout=10)
        try:
            name = user or self.user
            client.login(name, self._users[name])
            yield client
        finally:
            with contextlib.suppress(imaplib.IMAP4.error, OSError):
                client.logout()

    @contextlib.contextmanager
    def pop3(self, user: str | None = None, *, tls: bool = False) -> Iterator[poplib.POP3]:
        """A logged-in POP3 client. QUIT (which commits deletions) is sent on leaving."""
        client: poplib.POP3
        if tls:
            client = poplib.POP3_SSL(
                self.host, self.pop3s_port, context=self.client_ssl_context(), timeout=10
            )
        else:
            client = poplib.POP3(self.host, self.pop3_port, timeout=10)
        try:
            name = user or self.user
            client.user(name)
            client.pass_(self._users[name])
            yield client
        finally:
            with contextlib.suppress(poplib.error_proto, OSError):
                client.quit()

    # ----------------------------------------------------------------- mail

    def deliver(self, raw: bytes, *, folder: str = "INBOX", user: str | None = None) -> int:
        """Put one message into a mailbox (created if needed); return its UID."""
        return self.deliver_many([raw], folder=folder, user=user)[0]

    def deliver_many(
        self, messages: Iterable[bytes], *, folder: str = "INBOX", user: str | None = None
    ) -> list[int]:
        """Put messages into a mailbox over one IMAP connection; return their UIDs.

        Where the server offers MULTIAPPEND and LITERAL+ (Dovecot does), a few hundred go in one
        command: one round trip and one mailbox transaction instead of two round trips and a
        transaction per message."""
        uids: list[int] = []
        with self.imap(user) as client:
            if folder.upper() != "INBOX":
                client.create(_quoted(folder))  # NO when it exists: fine
            data = [raw if b"\r\n" in raw else raw.replace(b"\n", b"\r\n") for raw in messages]
            if not {b"LITERAL+", b"MULTIAPPEND"} <= _capabilities(client):
                return [_append(client, folder, raw) for raw in data]
            for start in range(0, len(data), _APPEND_WINDOW):
                uids.extend(_append_many(client, folder, data[start : start + _APPEND_WINDOW]))
        return uids

    def messages(self, folder: str = "INBOX", *, user: str | None = None) -> list[bytes]:
        """The raw messages in a mailbox, by UID (for assertions); [] if it does not exist."""
        with self.imap(user) as client:
            status, _ = client.select(_quoted(folder), readonly=True)
            if status != "OK":
                return []
            _, data = client.uid("SEARCH", "ALL")
            found: list[bytes] = []
            for uid in (data[0] or b"").split():
                _, fetched = client.uid("FETCH", uid.decode(), "(BODY.PEEK[])")
                found.extend(item[1] for item in fetched if isinstance(item, tuple))
            return found

    def folders(self, *, user: str | None = None) -> list[str]:
        with self.imap(user) as client:
            _, listed = client.list()
        return sorted(_folder_name(line) for line in listed if isinstance(line, bytes))

    def reset(self) -> None:
        """Empty every user's mailboxes and remove every folder but INBOX."""
        for user in self._users:
            with self.imap(user) as client:
                _, listed = client.list()
                for line in listed:
                    if not isinstance(line, bytes):
                        continue
                    name = _folder_name(line)
                    if name.upper() != "INBOX":
                        client.delete(_quoted(name))
                _, exists = client.select("INBOX")
                if exists[0] not in (None, b"0"):  # "1:*" is an error on an empty mailbox
                    client.store("1:*", "+FLAGS.SILENT", r"(\Deleted)")
                    client.expunge()

    # ----------------------------------------------------------------- configuration

    def _write_config(self) -> None:
        directory = self.directory
        mail = directory / "mail"
        mail.mkdir(exist_ok=True)
        if os.getuid() == 0:
            # Dovecot refuses to run its login processes or keep mail as root.
            internal, login = "dovecot", "dovenull"
            owner = pwd.getpwnam(internal)
            os.chown(mail, owner.pw_uid, owner.pw_gid)
            directory.chmod(0o755)
        else:
            owner = pwd.getpwuid(os.getuid())
            internal = login = owner.pw_name
        self._write_passwd()
        settings = _CONFIG.format(
            dir=directory,
            host=self.host,
            instance=directory.name,
            cert=self.cert_path,
            key=self.key_path,
            internal=internal,
            group=grp.getgrgid(owner.pw_gid).gr_name,
            login=login,
            uid=owner.pw_uid,
            gid=owner.pw_gid,
            imap=self.imap_port,
            imaps=self.imaps_port,
            pop3=self.pop3_port,
            pop3s=self.pop3s_port,
            # Login processes chroot by default, which only root may do.
            chroot="" if os.getuid() == 0 else "  chroot =\n",
        )
        if self.introspection_url:
            settings += _OAUTH2_CONFIG.format(dir=directory)
            (directory / "oauth2.conf").write_text(
                _OAUTH2_PASSDB.format(url=self.introspection_url)
            )
        (directory / "dovecot.conf").write_text(settings)

    def _write_passwd(self) -> None:
        # One passwd-file per user (the passdb path has %u in it): Dovecot reads a new user's
        # file at once, where a changed shared file is seen only after a second or so.
        users = self.directory / "users"
        users.mkdir(exist_ok=True)
        users.chmod(0o755)  # read by the auth process, which runs as the internal user
        for user, password in self._users.items():
            path = users / user
            path.write_text(f"{user}:{{PLAIN}}{password}\n")
            path.chmod(0o644)

    def _wait_until_listening(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        ports = [self.imap_port, self.imaps_port, self.pop3_port, self.pop3s_port]
        while ports:
            if self._process is None or self._process.poll() is not None:
                self._process = None
                raise RuntimeError(f"Dovecot did not start:\n{self.log()}")
            try:
                with socket.create_connection((self.host, ports[0]), timeout=1):
                    ports.pop(0)
                    continue
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"Dovecot did not listen within {START_TIMEOUT} s:\n{self.log()}"
                )
            time.sleep(0.05)


_APPEND_WINDOW = 200  # messages in one MULTIAPPEND


def _append(client: imaplib.IMAP4, folder: str, data: bytes) -> int:
    # typeshed says append() takes a str date and returns a str; it takes None (no internal
    # date) and returns (status, data) like every command
    result: Any = client.append(_quoted(folder), "", cast(str, None), data)
    status, answer = result
    if status != "OK":
        raise RuntimeError(f"APPEND to {folder} refused: {answer!r}")
    found = _APPENDUID.search(answer[0] or b"")
    return int(found.group(1)) if found else 0


def _append_many(client: imaplib.IMAP4, folder: str, messages: list[bytes]) -> list[int]:
    """One MULTIAPPEND (RFC 3502) of the messages, each a non-synchronizing literal (RFC
    7888): one command, one write, one answer, one mailbox transaction on the server."""
    literals = b" ".join(b"{%d+}\r\n%s" % (len(raw), raw) for raw in messages)
    client.send(b"pr1 APPEND %s %s\r\n" % (_quoted(folder).encode(), literals))
    while True:
        line = client.readline()
        if not line:
            raise RuntimeError(f"the connection closed during APPEND to {folder}")
        if line.startswith(b"pr1 "):
            break
    if not line.startswith(b"pr1 OK"):
        raise RuntimeError(f"APPEND to {folder} refused: {line!r}")
    found = _APPENDUIDS.search(line)
    uids = _uid_range(found.group(1)) if found else []
    return uids if len(uids) == len(messages) else [0] * len(messages)


def _capabilities(client: imaplib.IMAP4) -> set[bytes]:
    """What the server offers once logged in (imaplib keeps the shorter list from before)."""
    _status, data = client.capability()
    return {word.upper() for line in data if isinstance(line, bytes) for word in line.split()}


def _uid_range(text: bytes) -> list[int]:
    """`4:6,9` -> [4, 5, 6, 9]"""
    uids: list[int] = []
    for piece in text.split(b","):
        low, _sep, high = piece.partition(b":")
        uids.extend(range(int(low), int(high or low) + 1))
    return uids


def _die_with_parent() -> None:
    """In the child before exec: Linux ends it when the test process dies (a timeout's kill,
    a crash), so no Dovecot outlives its test run on a shared machine."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


_PR_SET_PDEATHSIG = 1


def _free_ports(host: str, count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((host, 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _folder_name(line: bytes) -> str:
    """The name in a LIST answer: `(\\HasNoChildren) "." "Name"` or `… "." Name`."""
    text = line.decode("utf-8", "replace")
    found = re.match(r'^\([^)]*\) (?:"[^"]*"|NIL) (.*)$', text)
    name = found.group(1) if found else text
    if name.startswith('"') and name.endswith('"'):
        name = name[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return name


_CONFIG = """\
# Written by core.testing.imap for one test run.
base_dir = {dir}/run
state_dir = {dir}/state
log_path = {dir}/dovecot.log
instance_name = {instance}
protocols = imap pop3
listen = {host}
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
ssl_min_protocol = TLSv1.2
# plaintext passwords on loopback: the plaintext ports are for tests
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
default_internal_user = {internal}
default_internal_group = {group}
default_login_user = {login}
first_valid_uid = 1
mail_location = maildir:{dir}/mail/%u
# a test's mail need not survive a power cut: no fsync per message (APPEND, MOVE)
mail_fsync = never
pop3_uidl_format = %08Xu%08Xv
passdb {{
  driver = passwd-file
  mechanisms = plain login
  args = scheme=PLAIN username_format=%u {dir}/users/%u
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={dir}/mail/%u
}}
# No growing delay for a client whose logins failed (auth penalty): tests fail logins on
# purpose, and every client here is on the same loopback address.
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service imap-login {{
{chroot}  inet_listener imap {{
    port = {imap}
  }}
  inet_listener imaps {{
    port = {imaps}
    ssl = yes
  }}
}}
service pop3-login {{
{chroot}  inet_listener pop3 {{
    port = {pop3}
  }}
  inet_listener pop3s {{
    port = {pop3s}
    ssl = yes
  }}
}}
"""

# With an introspection URL: OAuth2 logins beside the passwords, each token asked about.
_OAUTH2_CONFIG = """\
auth_mechanisms = plain login xoauth2 oauthbearer
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {dir}/oauth2.conf
}}
"""
_OAUTH2_PASSDB = """\
introspection_mode = post
introspection_url = {url}
force_introspection = yes
username_attribute = username
active_attribute = active
active_value = true
"""
