"""Every error uses {"error", "message", "details"} with the reference's codes."""

from __future__ import annotations

import inspect

from fastapi.testclient import TestClient

from wakebuilder import errors

from .conftest import ClientFactory

SEED_CODES = {"validation_error", "not_found", "conflict", "internal_error"}
ADDED_CODES = {"engine_unavailable", "cancelled", "unauthorized"}


def _is_error(body: dict[str, object]) -> bool:
    return set(body) == {"error", "message", "details"}


def test_every_error_class_maps_to_a_known_code() -> None:
    classes = [c for _, c in inspect.getmembers(errors, inspect.isclass)
               if issubclass(c, errors.WakeBuilderError)]
    assert len(classes) > 10
    for cls in classes:
        assert cls.code in SEED_CODES | ADDED_CODES, cls


def test_unknown_route_is_404_in_error_shape(client: TestClient) -> None:
    resp = client.get("/api/nope")
    assert resp.status_code == 404
    assert _is_error(resp.json()) and resp.json()["error"] == "not_found"


def test_wrong_method(client: TestClient) -> None:
    resp = client.put("/api/models")
    assert resp.status_code in (404, 405)  # 404 when the web UI is mounted at "/"
    assert _is_error(resp.json())


def test_validation_is_400_not_422(client: TestClient) -> None:
    resp = client.get("/api/models", params={"type": "weird"})
    assert resp.status_code == 400
    body = resp.json()
    assert body["error"] == "validation_error"
    assert body["details"]["fields"][0]["field"] == "type"


def test_unexpected_error_is_500_without_traceback(make_client: ClientFactory) -> None:
    client = make_client(raise_errors=False)

    def broken() -> None:
        raise RuntimeError("secret internal detail /etc/passwd")

    routes = client.app.router.routes  # type: ignore[attr-defined]
    client.app.add_api_route("/api/broken", broken)  # type: ignore[attr-defined]
    routes.insert(0, routes.pop())  # ahead of the web UI mount at "/"
    resp = client.get("/api/broken")
    assert resp.status_code == 500
    body = resp.json()
    assert body["error"] == "internal_error" and _is_error(body)
    assert "secret" not in resp.text and "Traceback" not in resp.text
