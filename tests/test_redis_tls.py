"""The Redis store over TLS (`rediss://`), against a real redis-server with a certificate."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest
from conftest import free_port
from redis_server import redis_binary

from ivr.engine.session import Session
from ivr.store import StoreError, open_store


def certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A certificate authority, and a certificate it signed for 127.0.0.1."""
    openssl = shutil.which("openssl")
    assert openssl, "the TLS test makes its certificates with openssl (apt-get install openssl)"
    ca, ca_key = folder / "ca.pem", folder / "ca.key"
    cert, key, request = folder / "server.pem", folder / "server.key", folder / "server.csr"
    extensions = folder / "san.cnf"
    extensions.write_text("subjectAltName = IP:127.0.0.1\n")
    for command in (
        ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=test ca",
         "-keyout", ca_key, "-out", ca],
        ["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", key,
         "-out", request],
        ["x509", "-req", "-in", request, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
         "-days", "1", "-extfile", extensions, "-out", cert],
    ):  # fmt: skip
        subprocess.run([openssl, *map(str, command)], check=True, capture_output=True)
    return ca, cert, key


def test_a_store_over_tls_works_and_plain_text_to_it_is_a_store_error(tmp_path: Path) -> None:
    ca, cert, key = certificates(tmp_path)
    port = free_port()
    proc = subprocess.Popen(
        [redis_binary(), "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1",
         "--tls-cert-file", str(cert), "--tls-key-file", str(key), "--tls-ca-cert-file", str(ca),
         "--tls-auth-clients", "no", "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    store = open_store(f"rediss://127.0.0.1:{port}/0?ssl_ca_certs={ca}")
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                store.set_opt_out("+15550001", "+15550002", True)
                break
            except StoreError:
                assert time.monotonic() < deadline and proc.poll() is None, "no TLS redis-server"
                time.sleep(0.1)
        assert store.opted_out("+15550001", "+15550002")
        call = Session(key="CA1", flow="f", version="v1", channel="voice")
        store.update("CA1", lambda _: (call, None), 60)
        assert store.load("CA1") == call
        plain = open_store(f"redis://127.0.0.1:{port}/0")
        with pytest.raises(StoreError):
            plain.load("CA1")
        plain.close()
    finally:
        store.close()
        proc.terminate()
        proc.wait(10)
