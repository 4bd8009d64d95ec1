"""Download Debian packages with ``apt-get download`` and unpack them with ``dpkg -x``."""

from __future__ import annotations

import logging
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from wakebuilder.corpus.model import AptUnavailableError
from wakebuilder.corpus.reserved import check_fetchable

log = logging.getLogger(__name__)

APT_TIMEOUT_S = 900
_LIST_ERRORS = ("Unable to locate package", "has no installation candidate",
                "Failed to fetch", "404")


@dataclass(frozen=True)
class PackageSet:
    """Packages unpacked into one tree: ``root`` plus each package's version and copyright."""

    root: Path
    versions: dict[str, str]
    copyrights: dict[str, str]


class AptError(RuntimeError):
    """Raised when ``apt-get``/``dpkg`` fails for a given package set (message says why)."""


def require_apt() -> None:
    """Raise :class:`AptUnavailableError` unless ``apt-get`` and ``dpkg`` are on ``PATH``."""
    missing = [tool for tool in ("apt-get", "dpkg", "dpkg-deb") if shutil.which(tool) is None]
    if missing:
        raise AptUnavailableError(
            "The speech corpus is built from Debian packages, but "
            f"{', '.join(missing)} is not available on this machine. Run this on Debian or "
            "Ubuntu, or copy an existing data/negative/corpus folder from such a machine.",
            {"missing": missing},
        )


def _run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True,
                          timeout=APT_TIMEOUT_S, check=False)


def _tail(text: str, lines: int = 4) -> str:
    return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:])


class AptDownloader:
    """Runs ``apt-get download``; calls ``apt-get update`` once, only when lists are missing."""

    def __init__(self) -> None:
        self._updated = False

    def download(self, packages: list[str], into: Path) -> list[Path]:
        """Download ``packages`` as ``.deb`` files into ``into`` and return their paths."""
        check_fetchable(packages)
        require_apt()
        into.mkdir(parents=True, exist_ok=True)
        result = _run(["apt-get", "download", *packages], into)
        if result.returncode != 0 and not self._updated and any(
                marker in result.stderr for marker in _LIST_ERRORS):
            log.info("apt-get download failed (%s); running apt-get update once",
                     _tail(result.stderr, 1))
            self._updated = True
            update = _run(["apt-get", "update"], into)
            if update.returncode != 0:
                raise AptError(f"apt-get update failed: {_tail(update.stderr)}. "
                               "Check network access to the Debian mirror and that you are root.")
            result = _run(["apt-get", "download", *packages], into)
        if result.returncode != 0:
            raise AptError(f"apt-get download {' '.join(packages)} failed: "
                           f"{_tail(result.stderr)}")
        debs = sorted(into.glob("*.deb"))
        found = {deb.name.split("_", 1)[0] for deb in debs}
        if missing := [p for p in packages if p not in found]:
            raise AptError(f"apt-get download returned no .deb for {', '.join(missing)}")
        return debs


def _deb_field(deb: Path, name: str) -> str:
    result = _run(["dpkg-deb", "-f", str(deb), name], deb.parent)
    if result.returncode != 0:
        raise AptError(f"dpkg-deb could not read {deb.name}: {_tail(result.stderr)}")
    return result.stdout.strip()


def unpack(debs: list[Path], root: Path) -> PackageSet:
    """``dpkg -x`` every ``.deb`` into ``root``; collect versions and copyright texts."""
    root.mkdir(parents=True, exist_ok=True)
    versions: dict[str, str] = {}
    copyrights: dict[str, str] = {}
    for deb in debs:
        package = _deb_field(deb, "Package")
        versions[package] = _deb_field(deb, "Version")
        result = _run(["dpkg", "-x", str(deb), str(root)], deb.parent)
        if result.returncode != 0:
            raise AptError(f"dpkg -x {deb.name} failed: {_tail(result.stderr)}")
        copyright_file = root / "usr/share/doc" / package / "copyright"
        if copyright_file.is_file():
            copyrights[package] = copyright_file.read_text(encoding="utf-8", errors="replace")
    return PackageSet(root=root, versions=versions, copyrights=copyrights)


def fetch_packages(packages: list[str], work_dir: Path,
                   downloader: AptDownloader | None = None) -> PackageSet:
    """Download and unpack ``packages`` under ``work_dir`` (``debs/`` and ``root/``).

    Packages reserved for the independent evaluation (:mod:`wakebuilder.corpus.reserved`) are
    refused before any download."""
    check_fetchable(packages)
    downloader = downloader or AptDownloader()
    debs = downloader.download(packages, work_dir / "debs")
    return unpack(debs, work_dir / "root")
