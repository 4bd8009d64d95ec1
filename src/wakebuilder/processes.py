"""Helpers for child processes: a child that must not outlive the process that started it."""

from __future__ import annotations

import os
import threading
import time


def exit_with_parent(parent: int, interval: float = 1.0) -> threading.Thread:
    """Exit this process (``os._exit``) as soon as ``parent`` is no longer its parent, so a
    killed parent leaves no child at work (a download, a training head)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval)
        os._exit(1)

    thread = threading.Thread(target=watch, name="exit-with-parent", daemon=True)
    thread.start()
    return thread
