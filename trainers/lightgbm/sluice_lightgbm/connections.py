"""How the LightGBM worker reaches Temporal and the object store: the same SLUICE_* settings as the
TypeScript processes (shared/config.ts), TLS included, so one environment configures every worker."""

from __future__ import annotations

import os
from urllib.parse import urlparse

import certifi
import urllib3
from minio import Minio
from temporalio.service import TLSConfig


def env(name: str, default: str) -> str:
    return os.environ.get(name) or default


def _pem(setting: str) -> bytes | None:
    path = os.environ.get(setting)
    if not path:
        return None
    try:
        with open(path, "rb") as f:
            pem = f.read()
    except OSError as err:
        raise SystemExit(f"{setting}={path}: cannot read it ({err.strerror})") from err
    if b"-----BEGIN " not in pem:
        raise SystemExit(f"{setting}={path}: not a PEM file (no -----BEGIN line)")
    return pem


def temporal_tls() -> TLSConfig | bool:
    """SLUICE_TEMPORAL_TLS(_CA, _CERT, _KEY, _SERVER_NAME) as the Python SDK takes them; False for plaintext."""
    ca, cert, key = _pem("SLUICE_TEMPORAL_TLS_CA"), _pem("SLUICE_TEMPORAL_TLS_CERT"), _pem("SLUICE_TEMPORAL_TLS_KEY")
    server_name = os.environ.get("SLUICE_TEMPORAL_TLS_SERVER_NAME") or None
    if (cert is None) != (key is None):
        raise SystemExit("SLUICE_TEMPORAL_TLS_CERT and SLUICE_TEMPORAL_TLS_KEY: set both (a client certificate and its key) or neither")
    if env("SLUICE_TEMPORAL_TLS", "false") != "true" and ca is None and cert is None and server_name is None:
        return False
    return TLSConfig(server_root_ca_cert=ca, client_cert=cert, client_private_key=key, domain=server_name)


def object_store() -> Minio:
    """The object store client; an https endpoint whose certificate a private CA signed is trusted through SLUICE_MINIO_CA.
    A read that waits SLUICE_MINIO_IDLE_TIMEOUT_MS for data fails, as in the TypeScript processes: a
    hung store cannot hold a training (the client's own default waits 5 minutes, 5 times over)."""
    endpoint = urlparse(env("SLUICE_MINIO_ENDPOINT", "http://127.0.0.1:9000"))
    ca_file = os.environ.get("SLUICE_MINIO_CA")
    idle = int(env("SLUICE_MINIO_IDLE_TIMEOUT_MS", "30000")) / 1000
    # Without SLUICE_MINIO_CA, the CAs the minio client itself would trust.
    tls = {"cert_reqs": "CERT_REQUIRED", "ca_certs": ca_file or os.environ.get("SSL_CERT_FILE") or certifi.where()} if endpoint.scheme == "https" else {}
    http_client = urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=idle, read=idle),
        maxsize=10,
        retries=urllib3.Retry(total=3, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504]),
        **tls,
    )
    return Minio(
        endpoint.netloc,
        access_key=env("SLUICE_MINIO_ACCESS_KEY", "sluice"),
        secret_key=env("SLUICE_MINIO_SECRET_KEY", "sluice-dev-secret"),
        region=env("SLUICE_MINIO_REGION", "us-east-1"),
        secure=endpoint.scheme == "https",
        http_client=http_client,
    )
