"""First run from a fresh data directory, as ``scripts/serve.sh`` does it: the server plus
``wakebuilder cache prepare`` (corpus fetch from the Debian mirror and the progressive build).

Reports the time from start until training stops waiting (``slice_ready`` in ``GET
/api/cache/info``: the first slice, or 0.25 h of natural speech, is committed), until the whole
first slice is in (target <= 5 min), until the full store is ready (target <= 15 min),
the hours by kind at both points, and the peak memory of the build (the prepare process and
its children, sampled each second) and of the server.

CPU-heavy for 20+ minutes on 2 cores: run it only on a quiet machine, never on the project's
own data directory.

    python benchmarks/first_run.py [--data-dir /tmp/wb-first-run] [--timeout-min 60]
        [--snapshot DIR]

``--snapshot DIR`` keeps what was committed when the first slice was complete as a data
directory; to train the development benchmark on it, link the benchmark's evaluation source
in (``cp -al data/negative/corpus/bass DIR/negative/corpus/``: the benchmark excludes it from
training and needs its files) and run ``dev_benchmark.py --data-dir DIR``.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "benchmarks" / "out"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children(pid: int) -> list[int]:
    """``pid`` and all its descendants (from /proc)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(parents.get(p, []))
    return out


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def snapshot(data: Path, dest: Path) -> None:
    """A data directory holding what ``data`` has committed now: the negative store's index
    (then its data files, which hold at least the committed rows), hard links to the negative
    audio fetched so far, and the voices; for training the dev benchmark on the first slice."""
    store, out = data / "cache" / "negatives", dest / "cache" / "negatives"
    out.mkdir(parents=True)
    for name in ("index.json", "BUILD_STATE.json"):
        if (store / name).exists():
            shutil.copy2(store / name, out / name)
    for path in store.glob("embeddings-*.f16"):
        shutil.copy2(path, out / path.name)
    for name in ("negative", "voices"):
        for path in sorted((data / name).rglob("*")):
            rel = path.relative_to(data)
            if any(part.startswith(".") for part in rel.parts):
                continue  # a download or extraction in progress
            try:
                if path.is_file():
                    (dest / rel).parent.mkdir(parents=True, exist_ok=True)
                    try:
                        os.link(path, dest / rel)
                    except OSError as exc:
                        if exc.errno != errno.EXDEV:
                            raise
                        shutil.copy2(path, dest / rel)  # another file system
            except FileNotFoundError:
                continue  # moved by the fetch meanwhile


def _info(url: str) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(f"{url}/api/cache/info", timeout=10) as r:
            return json.load(r)  # type: ignore[no-any-return]
    except OSError:
        return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, help="fresh data directory (default: a temp dir)")
    ap.add_argument("--timeout-min", type=float, default=60.0)
    ap.add_argument("--keep", action="store_true", help="keep the data directory")
    ap.add_argument("--snapshot", type=Path,
                    help="copy what is committed when the first slice is complete here (a "
                         "data directory for `dev_benchmark.py --data-dir`)")
    args = ap.parse_args()
    print("command:", shlex.join([sys.executable, *sys.argv]))
    data = args.data_dir or Path(tempfile.mkdtemp(prefix="wb-first-run-"))
    if (REPO / "data").resolve() == data.resolve():
        sys.exit("refusing to run on the project's own data directory")
    if data.exists() and any(data.iterdir()):
        sys.exit(f"{data} is not empty: the benchmark needs a fresh data directory")
    if args.snapshot is not None and args.snapshot.exists():
        sys.exit(f"{args.snapshot} exists: the snapshot needs a new directory")
    data.mkdir(parents=True, exist_ok=True)
    (data / "logs").mkdir()
    wb = [sys.executable, "-m", "wakebuilder.cli.main"]
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("WAKEBUILDER_API_TOKEN", None)
    t0 = time.monotonic()
    server = subprocess.Popen([*wb, "serve", "--data-dir", str(data), "--port", str(port),
                               "--log-level", "warning"], env=env, cwd=REPO,
                              stdout=(data / "logs" / "server.log").open("wb"),
                              stderr=subprocess.STDOUT)
    prepare = subprocess.Popen([*wb, "cache", "prepare", "--data-dir", str(data)], env=env,
                               cwd=REPO, stdout=(data / "logs" / "negatives.log").open("wb"),
                               stderr=subprocess.STDOUT)
    result: dict[str, Any] = {"data_dir": str(data), "started": time.strftime(
        "%Y-%m-%d %H:%M:%S UTC", time.gmtime()), "load_average_start": os.getloadavg()}
    peak_build = peak_server = 0.0
    last_stage = None
    try:
        while time.monotonic() - t0 < args.timeout_min * 60:
            elapsed = time.monotonic() - t0
            build_rss = sum(_rss_mb(p) for p in _children(prepare.pid))
            peak_build = max(peak_build, build_rss)
            peak_server = max(peak_server, sum(_rss_mb(p) for p in _children(server.pid)))
            info = _info(url)
            if info is not None:
                result.setdefault("server_answers_s", round(elapsed, 1))
                if info.get("stage") != last_stage:
                    last_stage = info.get("stage")
                    print(f"{elapsed:7.1f} s  stage: {last_stage}  ({info.get('hours_by_kind')})",
                          flush=True)
                if info.get("slice_ready") and "useful_s" not in result:
                    result["useful_s"] = round(elapsed, 1)  # enough natural speech committed
                    result["useful_hours_by_kind"] = info.get("hours_by_kind")
                    print(f"{elapsed:7.1f} s  useful (jobs stop waiting): "
                          f"{info.get('hours_by_kind')}", flush=True)
                if (info.get("build_state") or {}).get("slice_ready") and \
                        "slice_ready_s" not in result:
                    result["slice_ready_s"] = round(elapsed, 1)  # the whole first slice
                    result["slice_hours_by_kind"] = info.get("hours_by_kind")
                    print(f"{elapsed:7.1f} s  first slice complete: {info.get('hours_by_kind')}",
                          flush=True)
                    if args.snapshot is not None:
                        snapshot(data, args.snapshot)
                        result["snapshot"] = str(args.snapshot)
            if prepare.poll() is not None:
                break
            time.sleep(1.0)
        elapsed = time.monotonic() - t0
        info = _info(url) or {}
        done = prepare.poll() == 0 and info.get("state") == "ready"
        result.update(
            prepare_exit=prepare.poll(), ended_s=round(elapsed, 1),
            full_ready_s=round(elapsed, 1) if done else None,
            state=info.get("state"), hours_by_kind=info.get("hours_by_kind"),
            missing_sources=(info.get("build_state") or {}).get("missing_sources"),
            peak_build_rss_mb=round(peak_build), peak_server_rss_mb=round(peak_server),
            load_average_end=os.getloadavg())
    finally:
        for proc in (prepare, server):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
    print(json.dumps(result, indent=2))
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "first_run.json").write_text(json.dumps(result, indent=2))
    if not args.keep and args.data_dir is None:
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
