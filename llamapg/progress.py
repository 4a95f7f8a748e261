"""Progress of long pipeline work, logged at most every few seconds with its rate and time left."""

from __future__ import annotations

import logging
import time
from typing import Callable


class Progress:
    """`update(done, describe)` logs "<describe()>, <rate>/s[, about <n>s left]" when `every_s` has
    passed since the last line; `describe` is only called then, so updating per item is cheap."""

    def __init__(self, logger: logging.Logger, unit: str, total: int | None = None, every_s: float = 10.0) -> None:
        self.logger = logger
        self.unit = unit
        self.total = total
        self.every_s = every_s
        self.started = self.last = time.perf_counter()

    def update(self, done: int, describe: Callable[[], str]) -> None:
        now = time.perf_counter()
        if now - self.last < self.every_s:
            return
        self.last = now
        rate = done / (now - self.started)
        left = f", about {(self.total - done) / rate:.0f}s left" if self.total is not None and rate else ""
        self.logger.info("%s, %.1f %s/s%s", describe(), rate, self.unit, left)
