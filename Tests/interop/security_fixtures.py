"""A broker with every kind of listener, the certificates it needs, and each client's settings for
it. Used by test_security.py.

The certificates are made with the openssl command at the start of the session: a CA, the
broker's certificate for 127.0.0.1, a client certificate the CA signed (CN=alice,O=Samsa) and one
it did not sign.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from broker_process import BrokerProcess, free_port

USERS = {"admin": "admin-secret", "alice": "alice-secret"}
CLIENT_SUBJECT = "CN=alice,O=Samsa"


@dataclass(frozen=True)
class Certificates:
    ca: Path
    broker_chain: Path
    broker_key: Path
    client_chain: Path
    client_key: Path
    stranger_chain: Path
    stranger_key: Path


def _openssl(*args: str, cwd: Path) -> None:
    result = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True)
    assert result.returncode == 0, f"openssl {' '.join(args)} failed:\n{result.stderr}"


def make_certificates(directory: Path) -> Certificates:
    directory.mkdir(parents=True, exist_ok=True)
    d = directory

    def key_and_request(name: str, subject: str) -> None:
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", subject, cwd=d)

    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
             "-subj", "/CN=Samsa Interop CA", cwd=d)
    (d / "broker.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    key_and_request("broker", "/CN=localhost")
    _openssl("x509", "-req", "-in", "broker.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "broker.pem",
             "-days", "2", "-extfile", "broker.ext", cwd=d)
    key_and_request("client", "/O=Samsa/CN=alice")
    _openssl("x509", "-req", "-in", "client.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "client.pem",
             "-days", "2", cwd=d)
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "stranger.key", "-out", "stranger.pem", "-days", "2",
             "-subj", "/CN=stranger", cwd=d)
    return Certificates(d / "ca.pem", d / "broker.pem", d / "broker.key", d / "client.pem", d / "client.key",
                        d / "stranger.pem", d / "stranger.key")


class SecureBroker:
    """`samsa serve` with PLAINTEXT (the suite's readiness checks and admin), SASL_PLAINTEXT,
    SASL_SSL and SSL with required client certificates."""

    def __init__(self, certificates: Certificates, extra_args: list[str] | None = None):
        self.certificates = certificates
        self.ports = {"SASL_PLAINTEXT": free_port(), "SASL_SSL": free_port(), "SSL": free_port()}
        self.process = BrokerProcess(name="secure")
        self.ports["PLAINTEXT"] = self.process.port
        # PLAINTEXT first: BrokerProcess's --listen (and its readiness check) is the first listener.
        listeners = ",".join(f"{name}://127.0.0.1:{self.ports[name]}" for name in ("PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL", "SSL"))
        self.process.extra_args = [
            "--listeners", listeners,
            "--tls-cert", str(certificates.broker_chain),
            "--tls-key", str(certificates.broker_key),
            "--tls-ca", str(certificates.ca),
            "--client-auth", "required",
            "--partitions", "3",
            "--set", "connection.failed.authentication.delay.ms=0",
            # Slowloris frames are cut after a second, so the abuse test sees it happen.
            "--set", "request.arrival.timeout.ms=1000",
            *[arg for user, password in USERS.items() for arg in ("--user", f"{user}:{password}")],
            *(extra_args or []),
        ]

    def bootstrap(self, listener: str) -> str:
        return f"127.0.0.1:{self.ports[listener]}"


# --- each client's settings --------------------------------------------------------------------------

MODES = ("sasl_ssl_scram512", "sasl_plaintext_plain", "mtls")
LISTENER_OF_MODE = {"sasl_ssl_scram512": "SASL_SSL", "sasl_plaintext_plain": "SASL_PLAINTEXT", "mtls": "SSL"}


def librdkafka_settings(mode: str, certs: Certificates, user: str = "alice", password: str | None = None) -> dict:
    password = USERS.get(user, "") if password is None else password
    if mode == "sasl_ssl_scram512":
        return {"security.protocol": "SASL_SSL", "sasl.mechanisms": "SCRAM-SHA-512", "sasl.username": user,
                "sasl.password": password, "ssl.ca.location": str(certs.ca)}
    if mode == "sasl_plaintext_plain":
        return {"security.protocol": "SASL_PLAINTEXT", "sasl.mechanisms": "PLAIN", "sasl.username": user, "sasl.password": password}
    assert mode == "mtls"
    return {"security.protocol": "SSL", "ssl.ca.location": str(certs.ca), "ssl.certificate.location": str(certs.client_chain),
            "ssl.key.location": str(certs.client_key)}


def kafka_python_settings(mode: str, certs: Certificates, user: str = "alice", password: str | None = None) -> dict:
    password = USERS.get(user, "") if password is None else password
    if mode == "sasl_ssl_scram512":
        return {"security_protocol": "SASL_SSL", "sasl_mechanism": "SCRAM-SHA-512", "sasl_plain_username": user,
                "sasl_plain_password": password, "ssl_cafile": str(certs.ca)}
    if mode == "sasl_plaintext_plain":
        return {"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "PLAIN", "sasl_plain_username": user,
                "sasl_plain_password": password}
    assert mode == "mtls"
    return {"security_protocol": "SSL", "ssl_cafile": str(certs.ca), "ssl_certfile": str(certs.client_chain),
            "ssl_keyfile": str(certs.client_key)}


def aiokafka_settings(mode: str, certs: Certificates, user: str = "alice", password: str | None = None) -> dict:
    from aiokafka.helpers import create_ssl_context

    password = USERS.get(user, "") if password is None else password
    if mode == "sasl_ssl_scram512":
        return {"security_protocol": "SASL_SSL", "sasl_mechanism": "SCRAM-SHA-512", "sasl_plain_username": user,
                "sasl_plain_password": password, "ssl_context": create_ssl_context(cafile=str(certs.ca))}
    if mode == "sasl_plaintext_plain":
        return {"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "PLAIN", "sasl_plain_username": user,
                "sasl_plain_password": password}
    assert mode == "mtls"
    return {"security_protocol": "SSL", "ssl_context": create_ssl_context(
        cafile=str(certs.ca), certfile=str(certs.client_chain), keyfile=str(certs.client_key))}
