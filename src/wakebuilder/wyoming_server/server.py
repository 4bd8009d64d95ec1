"""Start, run and stop the Wyoming server (TCP or Unix socket), optionally announced over
zeroconf as ``_wyoming._tcp`` so Home Assistant discovers it."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import signal
import socket
from contextlib import suppress
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from urllib.parse import urlparse

from wyoming.server import AsyncServer

from wakebuilder.capture.store import CaptureStore
from wakebuilder.errors import EngineUnavailableError, InvalidInputError
from wakebuilder.modelstore.loader import ModelCache
from wakebuilder.modelstore.store import ModelStore
from wakebuilder.wyoming_server.handler import WakeEventHandler
from wakebuilder.wyoming_server.protocol import WyomingLimits
from wakebuilder.wyoming_server.service import WakeService

log = logging.getLogger(__name__)

DEFAULT_URI = "tcp://127.0.0.1:10400"
ZEROCONF_TYPE = "_wyoming._tcp.local."
_MDNS_GROUP = "224.0.0.251"


@dataclass(frozen=True)
class WyomingConfig:
    """How to run the server (built once from the settings by the CLI)."""

    uri: str = DEFAULT_URI
    zeroconf_name: str | None = None
    """Announce the server over zeroconf under this name (``None``: no announcement)."""
    limits: WyomingLimits = field(default_factory=WyomingLimits)
    captures: CaptureStore | None = None
    """Keep a clip of every detection here for review (``--capture``; None: off)."""


def parse_uri(uri: str) -> tuple[str, str, int | None]:
    """``(scheme, host or path, port)`` of a ``tcp://HOST:PORT`` or ``unix://PATH`` URI."""
    parsed = urlparse(uri)
    if parsed.scheme == "tcp":
        try:
            port = parsed.port
        except ValueError as exc:
            raise InvalidInputError(f"bad port in Wyoming URI {uri!r}", {"uri": uri}) from exc
        if not parsed.hostname or port is None:
            raise InvalidInputError(f"Wyoming URI {uri!r} needs a host and a port, e.g. "
                                    f"{DEFAULT_URI}", {"uri": uri})
        return "tcp", parsed.hostname, port
    if parsed.scheme == "unix" and parsed.path:
        return "unix", parsed.path, None
    raise InvalidInputError(f"unsupported Wyoming URI {uri!r}: use tcp://HOST:PORT or "
                            "unix://PATH", {"uri": uri})


def _is_loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def announce_address(host: str) -> str:
    """The address to announce: ``host`` itself, or this machine's LAN address for a wildcard
    bind (the interface that would carry multicast; no packet is sent)."""
    if host not in ("0.0.0.0", "::", ""):
        return host
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect((_MDNS_GROUP, 1))
        return str(probe.getsockname()[0])


def _zeroconf() -> Any:
    try:
        import zeroconf.asyncio
    except ImportError as exc:
        raise EngineUnavailableError("--zeroconf needs the zeroconf package: pip install "
                                     "zeroconf", {"engine": "zeroconf"}) from exc
    return zeroconf.asyncio


def service_info(name: str, address: str, port: int) -> Any:
    """The zeroconf ``AsyncServiceInfo`` for the server (needs the ``zeroconf`` package)."""
    AsyncServiceInfo = _zeroconf().AsyncServiceInfo  # noqa: N806 - a class

    return AsyncServiceInfo(ZEROCONF_TYPE, f"{name}.{ZEROCONF_TYPE}",
                            addresses=[ipaddress.ip_address(address).packed], port=port,
                            properties={"program": "wakebuilder"})


class Announcement:
    """A registered zeroconf service; :meth:`close` withdraws it."""

    def __init__(self, name: str, host: str, port: int, *,
                 interfaces: list[str] | None = None) -> None:
        self.info = service_info(name, announce_address(host), port)
        self.interfaces = interfaces
        """Addresses to announce on (None: every interface, as a real server does)."""
        self._zc: Any = None

    async def open(self) -> None:
        zc = _zeroconf()
        self._zc = (zc.AsyncZeroconf() if self.interfaces is None
                    else zc.AsyncZeroconf(interfaces=self.interfaces))
        await self._zc.async_register_service(self.info)
        log.info("announced %s over zeroconf", self.info.name)

    async def close(self) -> None:
        if self._zc is None:
            return
        with suppress(OSError):
            await self._zc.async_unregister_service(self.info)
        await self._zc.async_close()
        self._zc = None


class WyomingServer:
    """The server around a :class:`WakeService`; ``start`` returns once it listens."""

    def __init__(self, store: ModelStore, config: WyomingConfig,
                 cache: ModelCache | None = None) -> None:
        self.config = config
        self.scheme, self.host, self.port = parse_uri(config.uri)
        if config.zeroconf_name and self.scheme != "tcp":
            raise InvalidInputError("zeroconf announces TCP servers only: use a tcp:// URI",
                                    {"uri": config.uri})
        if config.zeroconf_name and _is_loopback(self.host):
            raise InvalidInputError("zeroconf tells other machines about the server, but it "
                                    "listens on loopback only: bind a network address, e.g. "
                                    "--uri tcp://0.0.0.0:10400 --allow-remote",
                                    {"uri": config.uri})
        self.service = WakeService(store, config.limits, cache, captures=config.captures)
        self._server: AsyncServer | None = None
        self._announcement: Announcement | None = None

    async def start(self) -> None:
        """Load the front end, listen, and announce (if asked)."""
        await self.service.run(lambda: self.service.frontend)
        server = AsyncServer.from_uri(self.config.uri)
        await server.start(partial(WakeEventHandler, service=self.service))
        self._server = server
        models = len(await self.service.run(self.service.model_ids))
        log.info("Wyoming server on %s (%d model(s) in %s)", self.address, models,
                 self.service.store.root)
        if self.config.zeroconf_name:
            assert self.port is not None
            self._announcement = Announcement(self.config.zeroconf_name, self.host, self.port)
            await self._announcement.open()

    @property
    def address(self) -> str:
        return (f"tcp://{self.host}:{self.port}" if self.scheme == "tcp"
                else f"unix://{self.host}")

    async def stop(self) -> None:
        """Withdraw the announcement, close every connection and the listener."""
        log.info("Wyoming server on %s stopping", self.address)
        if self._announcement is not None:
            await self._announcement.close()
        if self._server is not None:
            await self._server.stop()
            self._server = None
        self.service.shutdown()


async def serve_until(store: ModelStore, config: WyomingConfig, stop: asyncio.Event) -> None:
    """Run the server until ``stop`` is set."""
    server = WyomingServer(store, config)
    await server.start()
    try:
        await stop.wait()
    finally:
        await server.stop()


def stop_on_signals(stop: asyncio.Event) -> None:
    """Set ``stop`` on SIGINT/SIGTERM (call inside the running loop)."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)


def run(store: ModelStore, config: WyomingConfig) -> None:
    """Serve until Ctrl-C or SIGTERM, then shut down cleanly."""

    async def main() -> None:
        stop = asyncio.Event()
        stop_on_signals(stop)
        await serve_until(store, config, stop)

    asyncio.run(main())
