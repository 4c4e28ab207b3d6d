"""A private dovecot for tests: Debian's dovecot-imapd, started on loopback ports with a generated config.

No system service: its own base_dir, a passwd-file user with a maildir, a self-signed certificate for
imaps and STARTTLS. Started with -F (foreground); its log comes on stderr, and "starting up" there
means its listeners are bound (the master binds them before it says so), so nothing waits blindly.
"""

from __future__ import annotations

import dataclasses
import imaplib
import os
import pwd
import shutil
import ssl
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from tests.conftest import skip_or_fail
from tests.smtp_server import free_port, self_signed_tls

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
USER, PASSWORD = "bounces", "s3cret pass@word"


@dataclasses.dataclass
class Dovecot:
    imaps_port: int
    imap_port: int
    maildir: Path  # the user's INBOX, a maildir
    cert: Path  # the CA (self-signed certificate) a client must trust
    client_tls: ssl.SSLContext
    log: list[str]

    def url(self, scheme: str = "imaps", folder: str = "INBOX") -> str:
        from urllib.parse import quote

        port = self.imaps_port if scheme == "imaps" else self.imap_port
        return f"{scheme}://{USER}:{quote(PASSWORD, safe='')}@127.0.0.1:{port}/{folder}"

    def connect(self) -> imaplib.IMAP4_SSL:
        conn = imaplib.IMAP4_SSL("127.0.0.1", self.imaps_port, ssl_context=self.client_tls, timeout=30)
        try:
            conn.login(USER, PASSWORD)
        except BaseException:
            conn.shutdown()
            raise
        return conn

    def append(self, raw: bytes, folder: str = "INBOX") -> None:
        """Put a message in the mailbox as a delivery agent would, by IMAP APPEND."""
        conn = self.connect()
        try:
            typ, data = conn.append(folder, None, None, raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
            assert typ == "OK", data
        finally:
            conn.logout()

    def count(self, folder: str = "INBOX") -> int:
        conn = self.connect()
        try:
            typ, data = conn.select(f'"{folder}"', readonly=True)
            return int(data[0] or 0) if typ == "OK" else -1  # -1: no such folder
        finally:
            conn.logout()


def _config(base: Path, home: Path, imaps: int, imap: int, cert: Path, key: Path) -> str:
    me = pwd.getpwuid(os.getuid()).pw_name
    as_root = os.getuid() == 0
    users = "" if as_root else f"default_internal_user = {me}\ndefault_login_user = {me}\n"
    return f"""
base_dir = {base}/run
state_dir = {base}/state
instance_name = feedsvc-test-{imaps}
protocols = imap
listen = 127.0.0.1
log_path = /dev/stderr
ssl = required
ssl_cert = <{cert}
ssl_key = <{key}
auth_mechanisms = plain login
first_valid_uid = 1
first_valid_gid = 0
mail_location = maildir:{home}/Maildir
{users}passdb {{
  driver = passwd-file
  args = {base}/passwd
}}
userdb {{
  driver = passwd-file
  args = {base}/passwd
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
"""


def run_dovecot() -> Iterator[Dovecot]:
    """Start a private dovecot; skip (or fail under FEEDSVC_REQUIRE_ALL=1) when it is not installed."""
    if not Path(DOVECOT).exists():
        skip_or_fail("dovecot is not installed (apt-get install dovecot-imapd, as .ci/run does)")
    # Dovecot's auth and mail processes run as unprivileged users, which must reach the passwd file
    # and the maildir: pytest's tmp_path (root-only) will not do, so all of it lives in a folder of
    # its own under the system's temp dir, removed at the end.
    root = Path(tempfile.mkdtemp(prefix="feedsvc-dovecot-"))
    root.chmod(0o755)
    base, home = root / "etc", root / "home"
    (base / "run").mkdir(parents=True)
    (base / "state").mkdir()
    home.mkdir()
    _, client_tls = self_signed_tls(base)
    cert, key = base / "cert.pem", base / "key.pem"
    if os.getuid() == 0:
        nobody = pwd.getpwnam("nobody")
        uid, gid = nobody.pw_uid, nobody.pw_gid
    else:
        uid, gid = os.getuid(), os.getgid()
    os.chown(home, uid, gid)
    (base / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}:{uid}:{gid}::{home}::\n")
    imaps, imap = free_port(), free_port()
    (base / "dovecot.conf").write_text(_config(base, home, imaps, imap, cert, key))
    proc = subprocess.Popen([DOVECOT, "-F", "-c", str(base / "dovecot.conf")], stderr=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, text=True)
    assert proc.stderr is not None
    log: list[str] = []
    for line in proc.stderr:
        log.append(line)
        if "starting up" in line:
            break
    else:
        proc.wait()
        proc.stderr.close()
        shutil.rmtree(root, ignore_errors=True)
        skip_or_fail(f"dovecot did not start: {''.join(log)[-2000:]}")
    stderr = proc.stderr
    drain = threading.Thread(target=lambda: log.extend(stderr), daemon=True)  # a full pipe would stall it
    drain.start()
    try:
        yield Dovecot(imaps, imap, home / "Maildir", cert, client_tls, log)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        drain.join(timeout=30)
        stderr.close()
        shutil.rmtree(root, ignore_errors=True)
