"""Settings, URIs and the zeroconf announcement of the Wyoming server."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from wakebuilder.errors import InvalidInputError
from wakebuilder.modelstore.store import ModelStore
from wakebuilder.settings import load_settings
from wakebuilder.wyoming_server.server import (
    ZEROCONF_TYPE,
    WyomingConfig,
    WyomingServer,
    parse_uri,
    service_info,
)


def test_wyoming_settings_refuse_a_network_bind_unless_allowed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().wyoming_uri == "tcp://127.0.0.1:10400"
    with pytest.raises(ValidationError, match="allow-remote"):
        load_settings(wyoming_uri="tcp://0.0.0.0:10400")
    assert load_settings(wyoming_uri="tcp://0.0.0.0:10400", allow_remote=True)
    assert load_settings(wyoming_uri="tcp://[::1]:10400")
    with pytest.raises(ValidationError, match="tcp://HOST:PORT"):
        load_settings(wyoming_uri="stdio://")
    monkeypatch.setenv("WAKEBUILDER_WYOMING_URI", "tcp://localhost:10401")
    monkeypatch.setenv("WAKEBUILDER_WYOMING_THREADS", "3")
    settings = load_settings()
    assert (settings.wyoming_uri, settings.wyoming_threads) == ("tcp://localhost:10401", 3)


@pytest.mark.parametrize(("uri", "parsed"), [
    ("tcp://127.0.0.1:10400", ("tcp", "127.0.0.1", 10400)),
    ("tcp://[::1]:1", ("tcp", "::1", 1)),
    ("unix:///run/wb.sock", ("unix", "/run/wb.sock", None))])
def test_parse_uri(uri: str, parsed: tuple[str, str, int | None]) -> None:
    assert parse_uri(uri) == parsed


@pytest.mark.parametrize("uri", ["tcp://127.0.0.1", "tcp://:10400", "tcp://h:x", "http://h:1",
                                 "stdio://", "unix://"])
def test_bad_uris_say_what_to_use(uri: str) -> None:
    with pytest.raises(InvalidInputError, match="tcp://"):
        parse_uri(uri)


def test_zeroconf_needs_a_network_bind(tmp_path: object) -> None:
    store = ModelStore(tmp_path / "models")  # type: ignore[operator]
    with pytest.raises(InvalidInputError, match="loopback"):
        WyomingServer(store, WyomingConfig(uri="tcp://127.0.0.1:10400", zeroconf_name="x"))
    with pytest.raises(InvalidInputError, match="TCP"):
        WyomingServer(store, WyomingConfig(uri="unix:///tmp/x.sock", zeroconf_name="x"))


def test_service_info_is_a_wyoming_announcement() -> None:
    info = service_info("kitchen", "192.0.2.7", 10400)
    assert info.type == ZEROCONF_TYPE == "_wyoming._tcp.local."
    assert info.name == "kitchen._wyoming._tcp.local."
    assert info.port == 10400 and info.parsed_addresses() == ["192.0.2.7"]


def test_announcement_resolves_over_mdns() -> None:
    """Register, resolve with a second zeroconf instance, withdraw, on the loopback interface
    only, so no packet leaves the machine (skips where loopback has no multicast)."""
    import asyncio

    from zeroconf.asyncio import AsyncZeroconf

    from wakebuilder.wyoming_server.server import Announcement

    async def go() -> tuple[list[str], int]:
        announcement = Announcement("wakebuilder-test", "127.0.0.1", 10499,
                                    interfaces=["127.0.0.1"])
        try:
            await announcement.open()
        except OSError as exc:
            pytest.skip(f"no multicast on loopback here: {exc}")
        browser = AsyncZeroconf(interfaces=["127.0.0.1"])
        try:
            info = await browser.async_get_service_info(
                ZEROCONF_TYPE, f"wakebuilder-test.{ZEROCONF_TYPE}", timeout=3000)
        finally:
            await browser.async_close()
            await announcement.close()
        if info is None:
            pytest.skip("mDNS queries get no answer here")
        return info.parsed_addresses(), info.port

    assert asyncio.run(go()) == (["127.0.0.1"], 10499)


@pytest.mark.parametrize(("args", "words"), [
    (["wyoming", "--uri", "tcp://0.0.0.0:10400"], "--allow-remote"),
    (["serve", "--wyoming", "tcp://192.0.2.1:10400"], "--allow-remote"),
    (["wyoming", "--uri", "tcp://127.0.0.1:x"], "bad port"),
    (["wyoming", "--zeroconf"], "loopback")])
def test_cli_refuses_bad_binds_with_a_reason(args: list[str], words: str,
                                            tmp_path: object) -> None:
    from typer.testing import CliRunner

    from wakebuilder.cli.main import app

    result = CliRunner().invoke(app, [*args, "--data-dir", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert words in result.output


def test_info_languages_come_from_the_manifest_else_english() -> None:
    from wakebuilder.detection.config import DetectorConfig
    from wakebuilder.modelstore.manifest import ModelManifest
    from wakebuilder.wyoming_server.info import build_info

    def manifest(model_id: str, **training: object) -> ModelManifest:
        return ModelManifest(id=model_id, wake_word=model_id.replace("_", " "), threshold=0.5,
                             detector=DetectorConfig(), training_config=training)

    info = build_info([manifest("hallo_welt", language="de"), manifest("hey_you"),
                       manifest("both", languages=["en", "fr"])])
    models = info.wake[0].models
    assert [(m.name, m.phrase, m.languages) for m in models] == [
        ("hallo_welt", "hallo welt", ["de"]), ("hey_you", "hey you", ["en"]),
        ("both", "both", ["en", "fr"])]
    from wyoming.info import Info

    assert Info.from_event(info.event()) == info  # survives the wire format
