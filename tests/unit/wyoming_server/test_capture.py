"""Wyoming capture: nothing is kept by default; with a capture store every detection's clip is
kept under the model (source ``wyoming``)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.unit.wyoming_server.conftest import ALWAYS
from tests.unit.wyoming_server.test_handler import client, pcm, stream
from wakebuilder.capture.store import CaptureStore
from wakebuilder.cli.wyoming import wyoming_config
from wakebuilder.modelstore.store import ModelStore
from wakebuilder.settings import load_settings
from wakebuilder.wyoming_server.server import WyomingConfig, WyomingServer


def _serve(store: ModelStore, tmp_path: Path, captures: CaptureStore | None) -> list[str]:
    async def go() -> list[str]:
        uri = f"unix://{tmp_path / 'w.sock'}"
        server = WyomingServer(store, WyomingConfig(uri=uri, captures=captures))
        await server.start()
        try:
            async with client(uri) as c:
                events = await stream(c, pcm(5.0), names=[ALWAYS])
        finally:
            await server.stop()
        return [e.type for e in events]

    return asyncio.run(go())


def test_capture_is_off_by_default(store: ModelStore, tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "data")
    assert wyoming_config(settings).captures is None
    assert wyoming_config(load_settings(data_dir=tmp_path / "data",
                                        wyoming_capture=True)).captures is not None
    assert _serve(store, tmp_path, None) == ["detection", "detection"]
    assert not (tmp_path / "data" / "captures").exists()


def test_capture_keeps_every_detection(store: ModelStore, tmp_path: Path) -> None:
    captures = CaptureStore(tmp_path / "captures")
    assert _serve(store, tmp_path, captures) == ["detection", "detection"]
    recs = captures.list(ALWAYS)
    assert len(recs) == 2 and {r.kind for r in recs} == {"detection"}
    assert {r.source for r in recs} == {"wyoming"}
    assert sorted(r.duration_s for r in recs) == [1.86, 2.5]  # the first has 1.36 s before it
