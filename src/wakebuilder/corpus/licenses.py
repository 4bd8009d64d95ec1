"""Write ``LICENSES.md``: the licence and provenance of every corpus source."""

from __future__ import annotations

from pathlib import Path

from wakebuilder.corpus.model import CorpusManifest

_HEADER = """# Licences of the real-speech corpus

Every clip below was extracted from a Debian 12 package and re-encoded as 16 kHz mono FLAC
for use as *negative* training audio for wake-word models. None of these licences restricts
use; redistributing the clips brings the duties listed (attribution, share-alike). The full
copyright file of each package is kept in `<source>/copyright/<package>`.
"""


def render_licenses(manifest: CorpusManifest) -> str:
    """Markdown text of ``LICENSES.md`` for the complete sources of ``manifest``."""
    parts = [_HEADER]
    for source_id, record in sorted(manifest.sources.items()):
        packages = ", ".join(f"`{name}` {version}" for name, version in record.packages.items())
        parts.append(
            f"## {source_id}\n\n"
            f"- Content: {record.description}\n"
            f"- Packages: {packages}\n"
            f"- Licence: **{record.licence}** - {record.licence_summary}\n"
            f"- Languages: {', '.join(record.languages)}\n"
            f"- Clips: {record.clips} ({record.hours:.2f} h), extracted {record.extracted_at}\n"
            f"- Full terms: `{source_id}/copyright/`\n")
    if manifest.failures:
        failed = sorted(manifest.failures.items())
        parts.append("## Not extracted\n\n" + "".join(
            f"- {source_id}: {reason}\n" for source_id, reason in failed))
    return "\n".join(parts)


def write_licenses(root: Path, manifest: CorpusManifest) -> Path:
    """Write ``root/LICENSES.md`` and return its path."""
    path = root / "LICENSES.md"
    path.write_text(render_licenses(manifest), encoding="utf-8")
    return path
