"""TLS served directly when certificate settings are given: https works and HSTS is sent."""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
from pathlib import Path

import httpx

from infra.settings import Settings
from tests.conftest import ADMIN_TOKEN, free_port, spawn, wait_until


def test_the_api_serves_https_with_hsts_when_given_a_certificate(
        settings: Settings, tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    port = free_port()
    api = spawn(settings, "api", log=tmp_path / "api.log", PORT=str(port), API_WORKERS="1",
                TLS_CERT_FILE=str(cert), TLS_KEY_FILE=str(key))
    url = f"https://127.0.0.1:{port}"
    trust = ssl.create_default_context(cafile=str(cert))

    def up() -> bool:
        try:
            return httpx.get(f"{url}/health/live", verify=trust, timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_until(up, timeout=60, message="https api")
        response = httpx.get(f"{url}/v1/organizations", verify=trust, timeout=10,
                             headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        assert response.status_code == 200
        assert response.headers["strict-transport-security"].startswith("max-age=")
        try:
            plain = httpx.get(f"http://127.0.0.1:{port}/health/live", timeout=3)
        except httpx.TransportError:
            plain = None
        assert plain is None or plain.status_code >= 400, "plain http is not served"
    finally:
        os.killpg(api.pid, signal.SIGTERM)
        api.wait(timeout=30)
