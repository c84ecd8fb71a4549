"""Working-time deadlines per second (the calendar is on every task's hot path).

python -m bench.calendar_speed        # median of 5 runs of 10,000 deadlines
"""

from __future__ import annotations

import random
import statistics
import time
from datetime import UTC, date, datetime, timedelta

from engine.workflow.calendar import WorkingCalendar

STANDARDS = ("PT5M", "PT1H", "P1D", "PT30S", "P2D", "PT1H30M")


def run(count: int = 10_000, seed: int = 7) -> float:
    """Seconds to compute ``count`` deadlines spread over 2026 on a calendar with an override day."""
    calendar = WorkingCalendar(overrides={date(2026, 1, 10): True})
    rnd = random.Random(seed)
    starts = [datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=rnd.randrange(86400 * 365)) for _ in range(count)]
    began = time.perf_counter()
    for i, start in enumerate(starts):
        calendar.deadline(start, STANDARDS[i % len(STANDARDS)], "working")
    return time.perf_counter() - began


def main() -> None:
    runs = [run(seed=seed) for seed in range(5)]
    median = statistics.median(runs)
    print(
        f"10,000 working-time deadlines: median {median * 1000:.0f} ms "
        f"({10_000 / median:,.0f} per second; runs {', '.join(f'{r * 1000:.0f}' for r in runs)} ms)"
    )


if __name__ == "__main__":
    main()
