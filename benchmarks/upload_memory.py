"""Peak server memory per hostile upload: audio bombs and long file tests, one server each.

For each scenario a fresh ``wakebuilder serve`` (loopback, temporary data directory, one
model) is started from ``--src`` (default: this checkout's ``src``; point it at an older
checkout to compare), warmed up with one small request of the same kind, then N copies of
the attack are sent at once. Reported per scenario: the server's VmHWM (peak RSS) before
and after, the growth, the slowest answer and what the server answered.

Scenarios:

- ``bomb-check``: an 8-channel 48 kHz FLAC of ``--bomb-s`` s of zeros to
  ``POST /api/train/check``;
- ``bomb-check-ogg`` (with ``--ogg``): the same as OGG/Vorbis (slow to encode: ~15 s);
- ``long-file``: a mono 16 kHz FLAC of ``--long-s`` s of low noise to ``POST /api/test/file``
  (the server is started with ``WAKEBUILDER_TEST_FILE_MAX_SECONDS=--long-s``).

Usage::

    python benchmarks/upload_memory.py [--src DIR] [--n 1,2] [--bomb-s 600] [--long-s 300]

The model is the tests' cached tiny model (``.pytest_cache``) or ``--model-dir``.
"""

from __future__ import annotations

import argparse
import io
import os
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
CACHED_MODEL = ROOT / ".pytest_cache" / "d" / "wakebuilder-trained-model-v2" / "models"


def encode(seconds: float, channels: int, rate: int, fmt: str, subtype: str,
           level: float = 0.0) -> bytes:
    """Audio written in 5 s blocks (zeros, or Gaussian noise at ``level``)."""
    buf = io.BytesIO()
    rng = np.random.default_rng(0)
    with sf.SoundFile(buf, "w", rate, channels, format=fmt, subtype=subtype) as f:
        left = int(seconds * rate)
        while left > 0:
            n = min(left, rate * 5)
            f.write((rng.standard_normal((n, channels)) * level).astype(np.float32)
                    if level else np.zeros((n, channels), np.float32))
            left -= n
    return buf.getvalue()


def vm_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{key} missing for pid {pid}")


def start(src: Path, data: Path, model_dir: Path, env_extra: dict[str, str]
          ) -> tuple[subprocess.Popen[bytes], str]:
    shutil.copytree(model_dir, data / "models" / model_dir.name)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(src), **env_extra}
    env.pop("WAKEBUILDER_API_TOKEN", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "wakebuilder.cli.main", "serve", "--host", "127.0.0.1",
         "--port", str(port), "--data-dir", str(data)], env=env,
        stdout=(data.parent / "server.log").open("wb"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError((data.parent / "server.log").read_text()[-2000:])
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not start")


def scenario(name: str, src: Path, model_dir: Path, n: int, path: str, warm: bytes,
             attack: bytes, filename: str, form: dict[str, str], env: dict[str, str]
             ) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="wb-upload-mem-") as tmp:
        proc, url = start(src, Path(tmp) / "data", model_dir, env)
        try:
            with httpx.Client(base_url=url, timeout=600) as http:
                http.post(path, data=form, files={"audio": ("warm-" + filename, warm)})
                base = vm_kb(proc.pid, "VmHWM")

                def post(_: int) -> tuple[float, str]:
                    t = time.monotonic()
                    r = http.post(path, data=form, files={"audio": (filename, attack)})
                    body = r.json()
                    what = body.get("reason") or body.get("error") or (
                        f"ok {body.get('duration_s')} s" if "duration_s" in body else "ok")
                    return time.monotonic() - t, f"{r.status_code} {what}"

                with ThreadPoolExecutor(n) as pool:
                    answers = list(pool.map(post, range(n)))
                peak = vm_kb(proc.pid, "VmHWM")
        finally:
            proc.terminate()
            proc.wait(20)
    return {"scenario": name, "n": n, "hwm_before_mb": round(base / 1024),
            "hwm_after_mb": round(peak / 1024), "growth_mb": round((peak - base) / 1024),
            "slowest_s": round(max(t for t, _ in answers), 1),
            "answers": sorted({a for _, a in answers})}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--src", type=Path, default=ROOT / "src")
    parser.add_argument("--model-dir", type=Path, default=None)
    parser.add_argument("--n", default="1,2", help="concurrent copies per scenario")
    parser.add_argument("--bomb-s", type=float, default=600.0)
    parser.add_argument("--long-s", type=float, default=300.0)
    parser.add_argument("--ogg", action="store_true", help="also the OGG/Vorbis bomb")
    parser.add_argument("--only", default="", help="comma-separated scenario names")
    args = parser.parse_args()
    print("$ python " + shlex.join(sys.argv), flush=True)
    model_dir = args.model_dir or next((d for d in sorted(CACHED_MODEL.iterdir())
                                        if (d / f"{d.name}.onnx").is_file()), None)
    if model_dir is None:
        raise SystemExit("no model: pass --model-dir")
    long_env = {"WAKEBUILDER_TEST_FILE_MAX_SECONDS": str(args.long_s)}
    form = {"model_id": model_dir.name}
    plans: list[tuple[str, str, bytes, bytes, str, dict[str, str], dict[str, str]]] = [
        ("bomb-check", "/api/train/check", encode(1, 8, 48_000, "FLAC", "PCM_16"),
         encode(args.bomb_s, 8, 48_000, "FLAC", "PCM_16"), "bomb.flac", {}, {}),
        ("long-file", "/api/test/file", encode(3, 1, 16_000, "FLAC", "PCM_16", 0.002),
         encode(args.long_s, 1, 16_000, "FLAC", "PCM_16", 0.002), "long.flac", form, long_env),
    ]
    if args.ogg:
        plans.insert(1, ("bomb-check-ogg", "/api/train/check",
                         encode(1, 8, 48_000, "OGG", "VORBIS"),
                         encode(args.bomb_s, 8, 48_000, "OGG", "VORBIS"), "bomb.ogg", {}, {}))
    only = {s for s in args.only.split(",") if s}
    for name, path, warm, attack, filename, data, env in plans:
        if only and name not in only:
            continue
        for n in (int(x) for x in args.n.split(",")):
            r = scenario(name, args.src, model_dir, n, path, warm, attack, filename, data, env)
            print(f"{r['scenario']:15s} x{r['n']}  ({len(attack) / 1e3:.0f} KB)  peak RSS "
                  f"{r['hwm_before_mb']} -> {r['hwm_after_mb']} MB (+{r['growth_mb']} MB)  "
                  f"slowest {r['slowest_s']} s  answers {r['answers']}", flush=True)


if __name__ == "__main__":
    main()
