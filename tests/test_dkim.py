"""DKIM (issue 16 item 3): every message signed with the configured key, verified by dkimpy.

Real parts: a 2048-bit key made by openssl, real digests and confirmation emails through the
loopback SMTP server and the outbox, dkimpy's verifier fed the TXT record `feedsvc check` prints.
"""

from __future__ import annotations

import base64
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import dkim
import pytest

from feedsvc.check import run_checks
from feedsvc.cli import make_ingester
from feedsvc.config import load_settings
from feedsvc.model import ConfigError
from feedsvc.runs.confirmations import ConfirmationSender
from feedsvc.runs.postman import Postman
from feedsvc.services import build_services
from feedsvc.storage import Storage
from feedsvc.transport.dkim import Signer, public_key_b64, read_private_key, signer_for

from .smtp_server import SmtpTestServer
from .test_runs import NEW_RELEASES

REQUIRED = {"from", "to", "subject", "date", "message-id", "list-id", "list-unsubscribe", "list-unsubscribe-post"}


def make_key(path: Path) -> Path:
    subprocess.run(["openssl", "genrsa", "-out", str(path), "2048"], check=True, capture_output=True)
    return path


@pytest.fixture(scope="module")
def key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_key(tmp_path_factory.mktemp("dkim") / "dkim.pem")


def dns_for(record: str) -> Callable[..., bytes]:
    """dkimpy's dnsfunc: the one TXT record this test publishes, nothing at any other name."""
    def lookup(name: bytes, timeout: int = 5) -> bytes:
        return record.encode() if name == b"news2026._domainkey.press.example.org." else b""
    return lookup


def signed_headers(data: bytes) -> set[str]:
    sig = dkim.DKIM(data).verify_headerprep()[0]
    return {h.strip().lower() for h in sig[b"h"].decode().split(":")}


def tags(data: bytes) -> dict[str, str]:
    sig = dkim.DKIM(data).verify_headerprep()[0]
    return {k.decode(): v.decode() for k, v in sig.items()}


@pytest.fixture
def env(env: dict[str, str], mail_env: dict[str, str], key_file: Path) -> dict[str, str]:
    return env | mail_env | {"MAIL_FROM": "Press office <news@press.example.org>",
                             "DKIM_PRIVATE_KEY": str(key_file), "DKIM_SELECTOR": "news2026"}


def send_digest_and_confirmation(env: dict[str, str], storage: Storage, clock: Callable[[], object],
                                 content_dir: Path) -> None:
    """A real digest to one subscriber and a real confirmation email to a new sign-up."""
    settings = load_settings(env)
    make_ingester(settings, storage).scan()
    storage.add_confirmed("reader@example.org", (), "daily", clock())  # type: ignore[arg-type]
    (content_dir / "new.txt").write_text(NEW_RELEASES, encoding="utf-8")
    make_ingester(settings, storage).scan()
    postman = Postman(storage, settings, clock=clock)  # type: ignore[arg-type]
    postman.manual_runs(("daily",))
    assert postman.send_pending().sent == 1
    storage.subscribe("new@example.org", (), "weekly", clock())  # type: ignore[arg-type]
    services = build_services(settings, clock, storage=storage)  # type: ignore[arg-type]
    assert ConfirmationSender(storage, settings, services.links, services.clock).send_queued().sent == 1


def assert_verified(messages: list[bytes], record: str) -> None:
    assert len(messages) == 2
    for data in messages:
        assert data.startswith(b"DKIM-Signature:")
        assert dkim.verify(data, dnsfunc=dns_for(record)), data[:400]
        t = tags(data)
        assert (t["a"], t["c"], t["d"], t["s"]) == ("rsa-sha256", "relaxed/relaxed", "press.example.org", "news2026")
        assert "l" not in t  # no body length: nothing can be appended under the signature
        body_start = data.index(b"\r\n\r\n") + 4
        tampered = data[:body_start] + data[body_start:].replace(b"a", b"o", 1)
        assert tampered != data and not dkim.verify(tampered, dnsfunc=dns_for(record))
    digest, confirmation = messages
    assert signed_headers(digest) >= REQUIRED
    # A confirmation email has no list headers: it signs what it has, never a header it lacks.
    assert {"from", "to", "subject", "date", "message-id"} <= signed_headers(confirmation)
    assert not signed_headers(confirmation) & {"list-id", "list-unsubscribe"}


def test_digest_and_confirmation_signed_over_smtp(env: dict[str, str], storage: Storage, clock: Callable[[], object],
                                                   content_dir: Path, smtp_server: SmtpTestServer) -> None:
    send_digest_and_confirmation(env, storage, clock, content_dir)
    record = signer_for(load_settings(env)).dns_record()  # type: ignore[union-attr]
    assert_verified([m.data for m in smtp_server.messages], record)


def test_digest_and_confirmation_signed_in_the_outbox(env: dict[str, str], storage: Storage,
                                                      clock: Callable[[], object], content_dir: Path,
                                                      tmp_path: Path) -> None:
    env = {k: v for k, v in env.items() if k != "SMTP_URL"}
    send_digest_and_confirmation(env, storage, clock, content_dir)
    files = sorted((tmp_path / "instance" / "outbox").glob("*.eml"))
    # The file names start with the same clock instant: tell the digest by its list headers.
    messages = sorted((f.read_bytes() for f in files), key=lambda d: b"\r\nList-Id:" not in d)
    assert_verified(messages, signer_for(load_settings(env)).dns_record())  # type: ignore[union-attr]


def test_no_signature_without_the_settings(env: dict[str, str], storage: Storage, clock: Callable[[], object],
                                           content_dir: Path, smtp_server: SmtpTestServer) -> None:
    env = {k: v for k, v in env.items() if not k.startswith("DKIM_")}
    assert signer_for(load_settings(env)) is None
    send_digest_and_confirmation(env, storage, clock, content_dir)
    assert len(smtp_server.messages) == 2
    assert not any(b"DKIM-Signature" in m.data for m in smtp_server.messages)


def test_the_key_as_pem_text_and_the_public_key_as_openssl_gives_it(key_file: Path) -> None:
    pem_text = key_file.read_text()
    from_text = read_private_key(pem_text.replace("\n", "\\n"))  # as pasted into a one-line setting
    assert from_text == read_private_key(str(key_file))
    der = subprocess.run(["openssl", "rsa", "-in", str(key_file), "-pubout", "-outform", "DER"],
                         check=True, capture_output=True).stdout
    assert public_key_b64(from_text) == base64.b64encode(der).decode()


@pytest.mark.parametrize(("change", "says"), [
    ({"DKIM_PRIVATE_KEY": "/nonexistent/dkim.pem"}, "DKIM_PRIVATE_KEY: cannot read the key file '/nonexistent/dkim.pem'"),
    ({"DKIM_PRIVATE_KEY": "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWJ1dC1ub3QtYS1rZXk=\n-----END PRIVATE KEY-----"},
     "DKIM_PRIVATE_KEY: not an RSA private key in PEM form (PKCS#1 or PKCS#8)"),
    ({"DKIM_SELECTOR": ""}, "DKIM_PRIVATE_KEY is set but DKIM_SELECTOR is not"),
    ({"DKIM_PRIVATE_KEY": ""}, "DKIM_SELECTOR is set but DKIM_PRIVATE_KEY is not"),
    ({"DKIM_SELECTOR": "bad selector"}, "DKIM_SELECTOR='bad selector' must be a DNS name"),
    ({"MAIL_FROM": "news@localhost"}, "DKIM_DOMAIN='localhost' must be the domain"),
])
def test_a_bad_dkim_setting_stops_start_up_in_one_line(env: dict[str, str], change: dict[str, str], says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(env | change)
    message = str(caught.value)
    assert message.startswith(says) and "\n" not in message
    assert "c2VjcmV0" not in message and "BEGIN" not in message  # the key's text is never shown


def test_an_unloadable_key_stops_the_cli_naming_the_variable(env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "broken.pem").write_text("-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n")
    out = subprocess.run([sys.executable, "-m", "feedsvc", "check"], check=False, capture_output=True, text=True,
                         env=env | {"DKIM_PRIVATE_KEY": str(tmp_path / "broken.pem"), "PATH": "/usr/bin:/bin"})
    assert "problem  settings: DKIM_PRIVATE_KEY: not an RSA private key" in out.stdout
    assert "AAAA" not in out.stdout + out.stderr and out.returncode != 0


def test_dkim_domain_defaults_to_mail_from_and_can_be_set(env: dict[str, str]) -> None:
    assert load_settings(env).dkim_domain == "press.example.org"
    assert load_settings(env | {"DKIM_DOMAIN": "Example.ORG"}).dkim_domain == "example.org"
    assert "BEGIN" not in repr(load_settings(env)) and "BEGIN" not in repr(signer_for(load_settings(env)))


# ---------------------------------------------------------------- feedsvc check


def dkim_finding(env: dict[str, str], lookup: Callable[[str], list[str]]) -> tuple[str, str]:
    (finding,) = [f for f in run_checks(env, txt_lookup=lookup) if f.check == "DKIM"]
    return finding.status, finding.detail


def test_check_compares_the_published_record(env: dict[str, str], tmp_path: Path) -> None:
    record = signer_for(load_settings(env)).dns_record()  # type: ignore[union-attr]
    asked: list[str] = []

    def published(*txts: str) -> Callable[[str], list[str]]:
        def lookup(name: str) -> list[str]:
            asked.append(name)
            return list(txts)
        return lookup

    def unreachable(name: str) -> list[str]:
        raise OSError("network is unreachable")

    status, detail = dkim_finding(env, published("v=spf1 -all", record.replace("; ", ";  ")))
    assert status == "ok" and "matches" in detail and record in detail
    assert asked == ["news2026._domainkey.press.example.org"]

    other = Signer(read_private_key(str(make_key(tmp_path / "other.pem"))), "news2026", "press.example.org")
    status, detail = dkim_finding(env, published(other.dns_record()))
    assert status == "problem" and "different key" in detail and record in detail

    status, detail = dkim_finding(env, published("v=spf1 -all"))
    assert status == "problem" and "no DKIM record" in detail

    status, detail = dkim_finding(env, unreachable)
    assert status == "warning" and "could not look it up (network is unreachable)" in detail and record in detail

    no_dkim = {k: v for k, v in env.items() if not k.startswith("DKIM_")}
    assert dkim_finding(no_dkim, unreachable)[0] == "ok"


def test_check_cli_prints_the_record_to_publish(env: dict[str, str]) -> None:
    record = signer_for(load_settings(env)).dns_record()  # type: ignore[union-attr]
    assert re.fullmatch(r"v=DKIM1; k=rsa; p=[A-Za-z0-9+/]+=*", record)
    # No DNS here (or no such name anywhere): the lookup fails and the record is still printed.
    out = subprocess.run([sys.executable, "-m", "feedsvc", "check"], check=False, capture_output=True, text=True,
                         env=env | {"PATH": "/usr/bin:/bin"})
    (line,) = [ln for ln in out.stdout.splitlines() if " DKIM: " in ln]
    assert line.startswith("warning  DKIM: could not look it up")
    assert f'publish at news2026._domainkey.press.example.org the TXT record "{record}"' in line
