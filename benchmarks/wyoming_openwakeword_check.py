"""Manual check: the real wyoming-openwakeword server (Home Assistant's openWakeWord, 2.x) with
an exported ``.tflite`` at its default threshold 0.5, against WakeBuilder's own detector.

Not a test (CI cannot fetch the server: its 2.x source is not on PyPI). Setup::

    git clone https://github.com/rhasspy/wyoming-openwakeword /tmp/woww   # or a snapshot
    python3 -m venv /tmp/wowenv
    /tmp/wowenv/bin/pip install "wyoming>=1.8,<2" pyopen-wakeword==1.1.0 /tmp/woww
    mkdir /tmp/wowmodels && cp MODEL_DIR/MODEL_ID.tflite /tmp/wowmodels/
    /tmp/wowenv/bin/python -m wyoming_openwakeword --uri tcp://127.0.0.1:10411 \\
        --custom-model-dir /tmp/wowmodels &
    python benchmarks/wyoming_openwakeword_check.py --model MODEL_DIR --port 10411

Each clip is one ``detect`` / ``audio-start`` / chunks / ``audio-stop`` exchange (the server
resets its features on ``audio-start``) followed by 1 s of silence; a clip counts as detected
when the server sends ``detection`` before ``not-detected``.
"""

from __future__ import annotations

import argparse
import asyncio
import shlex
import sys
from pathlib import Path

import numpy as np
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncTcpClient
from wyoming.info import Describe, Info
from wyoming.wake import Detect, Detection, NotDetected

from wakebuilder.api.inference import score_file
from wakebuilder.audio.format import to_int16
from wakebuilder.audio.io import decode_audio
from wakebuilder.modelstore.loader import ModelCache
from wakebuilder.modelstore.store import ModelStore

DEV = Path(__file__).resolve().parents[2] / "shared" / "dev-data" / "precise"


async def describe(host: str, port: int) -> list[tuple[str, str | None, bool]]:
    async with AsyncTcpClient(host, port) as client:
        await client.write_event(Describe().event())
        while True:
            event = await client.read_event()
            if event is not None and Info.is_type(event.type):
                info = Info.from_event(event)
                return [(m.name, m.phrase, m.installed) for w in info.wake for m in w.models]


async def detected(host: str, port: int, name: str, samples: np.ndarray) -> bool:
    pcm = to_int16(np.concatenate([samples, np.zeros(16000, np.float32)])).tobytes()
    async with AsyncTcpClient(host, port) as client:
        await client.write_event(Detect(names=[name]).event())
        await client.write_event(AudioStart(rate=16000, width=2, channels=1).event())
        for k in range(0, len(pcm), 2560):
            await client.write_event(AudioChunk(rate=16000, width=2, channels=1,
                                                audio=pcm[k:k + 2560]).event())
        await client.write_event(AudioStop().event())
        while True:
            event = await asyncio.wait_for(client.read_event(), 30)
            if event is None or NotDetected.is_type(event.type):
                return False
            if Detection.is_type(event.type):
                return True


async def run(args: argparse.Namespace) -> None:
    model_id = args.model.name
    store, cache = ModelStore(args.model.parent), ModelCache()
    listed = [m for m in await describe(args.host, args.port) if m[0] == model_id]
    print("describe lists:", listed)
    wake = sorted((DEV / "computer").glob("*.wav"))[3:3 + args.clips]  # held out of training
    other = sorted((DEV / "not-wake-words" / "en").glob("*.wav"))[:args.clips]
    for label, clips in (("wake word", wake), ("other speech", other)):
        ours = theirs = agree = 0
        for path in clips:
            samples = decode_audio(path)
            o = score_file(store, cache, model_id, samples).detected
            t = await detected(args.host, args.port, model_id, samples)
            ours, theirs, agree = ours + o, theirs + t, agree + (o == t)
        print(f"{label}: {len(clips)} clips; WakeBuilder detector {ours}, "
              f"wyoming-openwakeword at 0.5 {theirs}, same verdict {agree}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, required=True, help="model directory")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=10411)
    ap.add_argument("--clips", type=int, default=24)
    print("command:", shlex.join([sys.executable, *sys.argv]))
    asyncio.run(run(ap.parse_args()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
