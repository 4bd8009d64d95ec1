"""Phase timings through the dispatcher, a spawned worker, the job store and the status route."""

from __future__ import annotations

from pathlib import Path

from .conftest import ClientFactory, start_job, wait_status


def test_status_reports_wall_time_per_phase(make_client: ClientFactory,
                                            wavs: list[Path]) -> None:
    client = make_client(train="phased_train")
    body = wait_status(client, start_job(client, wavs[:1]), ("completed",))
    seconds = body["phase_seconds"]
    assert list(seconds) == ["Preparing data", "Training classifier"]
    # 6 and 3 reports 0.1 s apart: the old worker summed the time since the phase began on
    # every report (about 2.1 s and 0.6 s here).
    assert 0.55 <= seconds["Preparing data"] < 1.0
    assert 0.28 <= seconds["Training classifier"] < 0.7
    assert body["timings"] == seconds
    assert sum(seconds.values()) <= body["elapsed_seconds"] + 0.01
