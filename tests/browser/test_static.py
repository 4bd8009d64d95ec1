"""The web UI's files: served by the app with the right types, self-contained (nothing from
the network), module imports that resolve, and advanced options that match TrainConfig."""

from __future__ import annotations

import json
import re
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

STATIC = Path(__file__).resolve().parents[2] / "src" / "wakebuilder" / "web" / "static"
SVG_NS = "http://www.w3.org/2000/svg"


@pytest.fixture(scope="module")
def client() -> Iterator[object]:
    try:
        from starlette.exceptions import StarletteDeprecationWarning

        from wakebuilder.api.app import create_app
        from wakebuilder.settings import load_settings
    except ImportError as exc:  # pragma: no cover - the API is part of the package
        pytest.skip(f"the API app is not available: {exc}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StarletteDeprecationWarning)
        from fastapi.testclient import TestClient
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(load_settings(data_dir=Path(tmp)), start_dispatcher=False)
        with TestClient(app, base_url="http://127.0.0.1:8000") as c:
            yield c


def _files(suffix: str) -> list[Path]:
    return sorted(STATIC.rglob(f"*{suffix}"))


def test_index_is_served_at_root(client) -> None:  # type: ignore[no-untyped-def]
    resp = client.get("/")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="js/app.js">' in resp.text
    assert 'href="css/app.css"' in resp.text


@pytest.mark.parametrize(("path", "ctype"), [
    ("/css/app.css", "text/css"),
    ("/js/app.js", "javascript"),
    ("/js/capture-worklet.js", "javascript"),
    ("/js/train-options.json", "application/json"),
])
def test_assets_have_content_types(client, path: str, ctype: str) -> None:  # type: ignore[no-untyped-def]
    resp = client.get(path)
    assert resp.status_code == 200, path
    assert ctype in resp.headers["content-type"], resp.headers["content-type"]


def test_every_module_is_served(client) -> None:  # type: ignore[no-untyped-def]
    for path in _files(".js"):
        rel = path.relative_to(STATIC).as_posix()
        resp = client.get(f"/{rel}")
        assert resp.status_code == 200 and "javascript" in resp.headers["content-type"], rel


def test_api_routes_still_win_over_static_files(client) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/health").json()["status"] == "healthy"
    resp = client.get("/api/models/nope")
    assert resp.status_code == 404 and resp.json()["error"] == "not_found"


def test_nothing_is_loaded_from_the_network() -> None:
    url = re.compile(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", re.I)
    for path in _files(".html") + _files(".js") + _files(".css"):
        text = path.read_text()
        found = [m for m in url.findall(text.replace(SVG_NS, "")) if "w3.org" not in m]
        assert not found, f"{path.name} refers to {found}"
        assert "@import url(" not in text and "cdn" not in text.lower(), path.name


def test_relative_imports_resolve() -> None:
    imp = re.compile(r"""(?:import|from)\s*(?:[^'"]*?from\s*)?["'](\.[^"']+)["']""")
    for path in _files(".js"):
        for target in imp.findall(path.read_text()):
            assert (path.parent / target).resolve().is_file(), f"{path.name}: {target}"
    html = (STATIC / "index.html").read_text()
    for ref in re.findall(r'(?:src|href)="((?:js|css)/[^"]+)"', html):
        assert (STATIC / ref).is_file(), ref


def test_element_ids_used_by_scripts_exist() -> None:
    html = (STATIC / "index.html").read_text()
    ids = set(re.findall(r'\bid="([^"]+)"', html))
    dynamic = {"details-title"}  # created by library.js
    for path in _files(".js"):
        for ref in re.findall(r"""(?:\$|getElementById)\(["']([\w-]+)["']\)""", path.read_text()):
            assert ref in ids or ref in dynamic, f"{path.name} uses #{ref}, not in index.html"


def test_advanced_options_match_train_config() -> None:
    from wakebuilder.training.config import TrainConfig

    spec = json.loads((STATIC / "js" / "train-options.json").read_text())
    fields = {f["name"]: f for f in spec["fields"]}
    assert len(fields) == len(spec["fields"]), "duplicate option"
    model_fields = TrainConfig.model_fields
    assert set(fields) == set(model_fields), (
        f"missing in the UI: {sorted(set(model_fields) - set(fields))}; "
        f"unknown to the API: {sorted(set(fields) - set(model_fields))}")
    defaults = TrainConfig().model_dump()
    groups = {g["id"] for g in spec["groups"]}
    for name, f in fields.items():
        assert f["default"] == defaults[name], (name, f["default"], defaults[name])
        assert f["group"] in groups and f["label"] and f["help"], name
        if f["type"] == "select":
            assert f["default"] in [v for v, _ in f["options"]], name
        if f["type"] in ("int", "float"):
            assert f["min"] <= f["default"] <= f["max"], name
            TrainConfig.model_validate({name: f["min"]})
            TrainConfig.model_validate({name: f["max"]})
    TrainConfig.model_validate(spec["fast"])
