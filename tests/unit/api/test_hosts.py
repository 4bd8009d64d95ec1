"""Host and Origin checks, security headers and log redaction (no server; see
tests/e2e/test_hardening_server.py for the same against a real one)."""

from __future__ import annotations

import logging

import pytest

from wakebuilder.api.hosts import HostOriginMiddleware, host_name
from wakebuilder.api.logredact import RedactSecrets, redact

from .conftest import ClientFactory


def _mw(bound: str = "127.0.0.1", hosts: tuple[str, ...] = (),
        origins: tuple[str, ...] = ()) -> HostOriginMiddleware:
    return HostOriginMiddleware(lambda *a: None, bound_host=bound,  # type: ignore[arg-type]
                                allowed_hosts=hosts, allowed_origins=origins)


@pytest.mark.parametrize(("value", "name"), [
    ("localhost:8000", "localhost"), ("[::1]:8000", "::1"), ("::1", "::1"),
    ("Wake.Test.", "wake.test"), ("127.0.0.1", "127.0.0.1")])
def test_host_name(value: str, name: str) -> None:
    assert host_name(value) == name


def test_allowed_hosts() -> None:
    mw = _mw(hosts=("wake.test", "*.lan"))
    for ok in ("localhost:8000", "127.0.0.1:8000", "[::1]:8000", "wake.test", "box.lan:80"):
        assert mw.host_allowed(ok), ok
    for bad in ("evil.example:8000", "localhost.evil.example", "lan", "192.168.1.5:8000"):
        assert not mw.host_allowed(bad), bad
    wildcard = _mw(bound="0.0.0.0")
    assert wildcard.host_allowed("192.168.1.5:8000") and not wildcard.host_allowed("evil.ex")
    assert _mw(hosts=("*",)).host_allowed("anything.example")


def test_allowed_origins() -> None:
    mw = _mw(origins=("https://ui.example",))
    assert mw.origin_allowed("http://127.0.0.1:8000", "127.0.0.1:8000")
    assert mw.origin_allowed("https://ui.example", "127.0.0.1:8000")
    assert not mw.origin_allowed("http://evil.example", "127.0.0.1:8000")
    assert not mw.origin_allowed("http://127.0.0.1:9999", "127.0.0.1:8000")
    assert not mw.origin_allowed("null", "127.0.0.1:8000")


def test_refusals_use_the_error_shape(make_client: ClientFactory) -> None:
    client = make_client()
    evil = client.get("/health", headers={"Host": "evil.example"})
    assert evil.status_code == 400 and set(evil.json()) == {"error", "message", "details"}
    post = client.post("/api/train/check", headers={"Origin": "https://evil.example"})
    assert post.status_code == 403 and post.json()["error"] == "forbidden"
    assert client.post("/api/train/check").status_code == 400  # no Origin: a form error
    pre = client.options("/api/train/start", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert pre.status_code == 400
    assert pre.json()["details"] == {"reason": "cors_refused", "refused": ["origin"]}


def test_security_headers_everywhere(make_client: ClientFactory) -> None:
    client = make_client()
    for path in ("/", "/health", "/api/nope", "/docs"):
        resp = client.get(path)
        assert resp.headers["x-content-type-options"] == "nosniff", path
        assert "frame-ancestors 'none'" in resp.headers["content-security-policy"], path
    page = client.get("/").headers["content-security-policy"]
    assert "connect-src 'self' ws://127.0.0.1:8000 wss://127.0.0.1:8000" in page


def test_redaction() -> None:
    assert redact("GET /?token=abc&x=1 HTTP/1.1") == "GET /?token=[redacted]&x=1 HTTP/1.1"
    assert redact('"WebSocket /api/test/ws/m?sample_rate=16000&TOKEN=s%20x"') == (
        '"WebSocket /api/test/ws/m?sample_rate=16000&TOKEN=[redacted]"')
    assert redact("tokens=3 mytoken=x") == "tokens=3 mytoken=x"
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1,
                               '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5", "GET", "/health?token=abc", "1.1", 200), None)
    assert RedactSecrets().filter(record)
    assert record.getMessage() == '127.0.0.1:5 - "GET /health?token=[redacted] HTTP/1.1" 200'
