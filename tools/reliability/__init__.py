"""The reliability suite: hostile but fair input to every entry point, counted.

``python -m voc.tools.reliability --model voc-classifier:latest`` runs it all (bad HTTP requests, bad batch
files, configs, data and model files, a bounded 64-client soak against a real ``voc serve`` on loopback,
distinct unknown paths with the worker's memory before and after, kill -9 and SIGTERM of a batch job, a
corrupt model) and prints the counts: inputs tried, 5xx, crashes, rows lost, worker RSS. The fast part runs
in CI (``tests/test_reliability.py``) with the tiny model.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Tally:
    """What a run tried and what went wrong: a failure is an answer other than the expected one."""

    tried: Counter = field(default_factory=Counter)  # per area: http, batch, config, data, model
    failures: list[str] = field(default_factory=list)
    server_errors: int = 0  # HTTP 5xx
    crashes: int = 0  # tracebacks, uncaught exceptions, a process that died or hung
    rows_lost: int = 0  # input rows without an output row
    rows_changed: int = 0  # rows split or merged, columns renamed or dropped, cells that do not read back the same
    forged_lines: int = 0  # server log lines a client wrote

    def record(self, area: str, name: str, ok: bool, detail: str = "") -> None:
        """Count one input of ``area``; a failure keeps its name and what happened."""
        self.tried[area] += 1
        if not ok:
            self.failures.append(f"{area}: {name}: {detail}")

    def clean(self) -> bool:
        """Whether nothing went wrong."""
        counts = (self.crashes, self.server_errors, self.rows_lost, self.rows_changed, self.forged_lines)
        return not self.failures and not any(counts)

    def summary(self) -> str:
        """The counts as printed lines."""
        areas = ", ".join(f"{area} {n}" for area, n in sorted(self.tried.items()))
        lines = [
            f"inputs tried: {sum(self.tried.values())} ({areas})",
            f"unexpected answers: {len(self.failures)}; 5xx: {self.server_errors}; crashes: {self.crashes}; "
            f"rows lost: {self.rows_lost}; rows or columns changed: {self.rows_changed}; "
            f"forged log lines: {self.forged_lines}",
        ]
        return "\n".join(lines + [f"  FAILED {f}" for f in self.failures])
