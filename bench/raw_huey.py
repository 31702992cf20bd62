"""A bare huey app for the baseline: the same queue backend, a task that does nothing.

`huey_consumer bench.raw_huey.huey` runs it; the backend comes from the environment
(REDIS_URL set: RedisHuey, else SqliteHuey in MKPORTAL_VAR).
"""

from __future__ import annotations

import os
from pathlib import Path

from huey import RedisHuey, SqliteHuey

_name = os.environ.get("QUEUE_NAME", "bench-raw") + "-raw"
if os.environ.get("REDIS_URL"):
    huey = RedisHuey(_name, url=os.environ["REDIS_URL"], utc=True)
else:
    _var = Path(os.environ.get("MKPORTAL_VAR", "var")).resolve()
    _var.mkdir(parents=True, exist_ok=True)
    huey = SqliteHuey(_name, filename=str(_var / "raw-queue.db"), utc=True)


@huey.task()
def nothing(i: int) -> int:
    return i
