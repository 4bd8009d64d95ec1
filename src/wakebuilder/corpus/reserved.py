"""Debian packages the project must never fetch into its negative corpus.

Two game families are reserved for an independent evaluation of WakeBuilder's models: no
part of the project (training, calibration, tests, the development benchmark) may use their
audio. They are named here only by the SHA-256 of their package-name family (the part before
the first ``-``), so that no code names them and every version or split of their data is
covered. The development benchmark keeps a music source of its own,
:data:`BENCHMARK_PACKAGES`, out of the product's corpus in the same way, so its figures are
measured on audio no model trained on.
"""

from __future__ import annotations

import hashlib

from wakebuilder.errors import InvalidInputError

_EVALUATION_FAMILIES = frozenset({
    "75282f9d47b2a65723cbf4ea4dc9318eed30571a307de43ec32d377552120770",
    "b0658a7d912c9063109e0a7697168f4022eb485fd438ecbec21ff57ff5ee4e41",
})
"""SHA-256 of the reserved package families (first ``-``-separated part of the name)."""

BENCHMARK_PACKAGES = frozenset({"openclonk-data"})
"""Real music the development benchmark holds out (OpenClonk's soundtrack, 26 min)."""


def _family(package: str) -> str:
    return package.strip().lower().split("-", 1)[0]


def is_evaluation_reserved(package: str) -> bool:
    """True for a package of a family reserved for the independent evaluation."""
    digest = hashlib.sha256(_family(package).encode("utf-8")).hexdigest()
    return digest in _EVALUATION_FAMILIES


def reserved_reason(package: str) -> str | None:
    """Why ``package`` may not enter the negative corpus, or ``None`` when it may."""
    if is_evaluation_reserved(package):
        return "reserved for an independent evaluation; never used by WakeBuilder"
    if package.strip().lower() in BENCHMARK_PACKAGES:
        return "held out for the development benchmark's unseen-music audio"
    return None


def _refuse(refused: dict[str, str], where: str) -> None:
    if refused:
        raise InvalidInputError(
            f"refusing to fetch reserved package(s) {where}: "
            + "; ".join(f"{p} ({r})" for p, r in refused.items()),
            {"packages": sorted(refused)})


def check_corpus_packages(packages: list[str] | tuple[str, ...]) -> None:
    """Raise :class:`InvalidInputError` if any package may not enter the negative corpus
    (reserved for the independent evaluation or held out by the development benchmark)."""
    _refuse({p: r for p in packages if (r := reserved_reason(p)) is not None},
            "into the negative corpus")


def check_fetchable(packages: list[str] | tuple[str, ...]) -> None:
    """Raise :class:`InvalidInputError` for packages the project may not fetch at all."""
    _refuse({p: reserved_reason(p) or "" for p in packages if is_evaluation_reserved(p)},
            "(never used by WakeBuilder)")
