"""Every command takes its paths from the settings built once in the ``wakebuilder`` callback:
WAKEBUILDER_DATA_DIR, then ``wakebuilder --data-dir``, then the command's own ``--data-dir``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from wakebuilder.cli import data as data_cli
from wakebuilder.cli import serve as serve_cli
from wakebuilder.cli.main import app


def _invoke(args: list[str], env_dir: Path) -> Any:
    result = CliRunner().invoke(app, args, env={"WAKEBUILDER_DATA_DIR": str(env_dir)},
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def test_cache_and_corpus_follow_the_settings(monkeypatch: pytest.MonkeyPatch,
                                              tmp_path: Path) -> None:
    seen: list[Path] = []
    monkeypatch.setattr(data_cli, "cache_info", lambda layout: seen.append(layout.data_dir)
                        or {"available": False})
    monkeypatch.setattr(data_cli, "clear_cache", lambda layout: seen.append(layout.data_dir))
    monkeypatch.setattr(data_cli, "build_with_status",
                        lambda layout, **_: seen.append(layout.data_dir) or {})

    class Manifest:
        total_clips, total_seconds, sources, failures = 0, 0.0, [], {}

        def hours_by_kind(self) -> dict[str, float]:
            return {}

    monkeypatch.setattr(data_cli, "fetch_corpus",
                        lambda root, **_: seen.append(root) or Manifest())
    env, glob, own = tmp_path / "env", tmp_path / "global", tmp_path / "own"
    _invoke(["cache", "info"], env)
    _invoke(["--data-dir", str(glob), "cache", "info"], env)
    _invoke(["--data-dir", str(glob), "cache", "info", "--data-dir", str(own)], env)
    _invoke(["cache", "build"], env)
    _invoke(["cache", "clear"], env)
    _invoke(["corpus", "fetch", "--source", "corpus/x"], env)
    assert seen == [env, glob, own, env, env, env / "negative" / "corpus"]


def test_serve_and_wyoming_follow_the_global_data_dir(monkeypatch: pytest.MonkeyPatch,
                                                      tmp_path: Path) -> None:
    from wakebuilder.wyoming_server import server as wyoming_server

    seen: list[Any] = []
    monkeypatch.setattr(serve_cli, "serve", lambda **kw: seen.append(kw["data_dir"]))
    monkeypatch.setattr(wyoming_server, "run", lambda store, config: seen.append(store.root))
    glob = tmp_path / "global"
    _invoke(["--data-dir", str(glob), "serve"], tmp_path / "env")
    _invoke(["--data-dir", str(glob), "wyoming"], tmp_path / "env")
    _invoke(["wyoming"], tmp_path / "env")
    assert seen == [glob, glob / "models", tmp_path / "env" / "models"]
