"""``python -m voc.tools.reliability --model M``: the whole reliability suite, by hand; prints the counts."""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from voc.models.paths import DATA, NO_DATA_HINT
from voc.models.store import DEFAULT_MODEL, resolve_model

from . import Tally
from .cli_cases import batch_cases, config_cases, data_cases, model_cases, run_cases
from .http_cases import check_log, run_http_cases
from .server import voc_serve
from .soak import (
    abandoned_explain,
    big_rows_memory,
    corrupt_model_serve,
    explain_burst,
    killed_batch_job,
    soak,
    unknown_paths,
)

# http: the HTTP cases, unknown paths and the soak against one server; cli: batch, config, data and model
# files; killed: kill -9 and SIGTERM of a batch job; memory: a batch of huge rows; corrupt: voc serve with a
# corrupt model.
PARTS = ("http", "cli", "killed", "memory", "corrupt")


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m voc.tools.reliability", description=__doc__)
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--clients", type=int, default=64, help="soak clients (default: %(default)s)")
    parser.add_argument("--seconds", type=float, default=60, help="soak length (default: %(default)s)")
    parser.add_argument("--max-requests", type=int, default=20_000, help="soak bound (default: %(default)s)")
    parser.add_argument("--paths", type=int, default=3000, help="distinct unknown paths (default: %(default)s)")
    parser.add_argument("--rows", type=int, default=5000, help="rows of the killed batch job (default: %(default)s)")
    parser.add_argument(
        "--big-rows", type=int, default=1100, help="rows of 1 MB in the memory part (default: %(default)s)"
    )
    parser.add_argument("--texts", type=Path, default=DATA / "voc" / "test.jsonl", help="JSONL with 'text'")
    parser.add_argument("--parts", default=",".join(PARTS), help="comma-separated subset of %(default)s")
    parser.add_argument(
        "--settle", type=float, default=60, help="seconds after the explain burst to measure RSS (default: %(default)s)"
    )
    args = parser.parse_args()
    if not args.texts.is_file():
        parser.error(f"{args.texts} not found; {NO_DATA_HINT}, or pass --texts FILE")
    parts = set(args.parts.split(","))
    model_dir, _ = resolve_model(args.model)
    texts = [json.loads(line)["text"] for line in args.texts.read_text(encoding="utf-8").splitlines() if line.strip()]
    tally, notes, started = Tally(), [], time.monotonic()
    with tempfile.TemporaryDirectory(prefix="voc-reliability-") as tmp:
        work = Path(tmp)
        home = Path(os.environ.get("BENTOML_HOME", Path.home() / "bentoml"))
        if "http" in parts:
            with voc_serve(args.model, home, work / "serve.log") as served:
                fresh = served.worker_rss_mb()
                run_http_cases(served.url, tally)
                notes.append(explain_burst(served, fresh, 5, args.settle, tally))
                notes.append(abandoned_explain(served, tally))
                notes.append(explain_burst(served, fresh, 16, 0, tally))
                notes.append(unknown_paths(served, args.paths, tally))
                notes.append(soak(served, texts, args.clients, args.seconds, args.max_requests, tally))
                log = served.log.read_text(errors="replace")
            notes.append(check_log(log, tally))
        if "cli" in parts:
            run_cases(batch_cases(args.model, work), "batch", tally)
            run_cases(config_cases(work), "config", tally)
            run_cases(data_cases(args.model, work), "data", tally)
            run_cases(model_cases(model_dir, work), "model", tally, subprocesses=True)
        if "killed" in parts:
            notes.append(killed_batch_job(args.model, work, args.rows, tally))
        if "memory" in parts:
            notes.append(big_rows_memory(args.model, work, args.big_rows, 1_000_000, tally))
        if "corrupt" in parts:
            notes.append(corrupt_model_serve(model_dir, work, tally))
    print(f"reliability suite, model {args.model}, {time.monotonic() - started:.0f} s")
    print("\n".join(notes))
    print(tally.summary())
    return 0 if tally.clean() else 1


if __name__ == "__main__":
    raise SystemExit(main())
