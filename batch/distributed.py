"""``voc score --engine ray``: many shards of an export scored on a Ray actor pool, with ``voc score``'s promises.

A shard (one input file) is the unit of work. Ray Data hands the shards to a pool of actors
(``ActorPoolStrategy``, one CPU each); each actor loads the model once and runs ``batch.score_chunks`` over
a shard (the reader, scorer and writer of ``voc score``), writing that shard's part itself. Rows do not
travel through Ray's object store: every column keeps the type ``voc score`` gives it, and reading and
writing are spread over the workers. Only each shard's counts and ``Summary`` come back to the driver,
which merges them (``summary.merge_summaries``).

Promises (docs/scaling.md): every input row once, with all its columns, plus ``shard`` (the input file)
and ``shard_row`` (1-based row number in it), so order is recoverable; the output is a directory of
Parquet parts, ``part-00000.parquet`` for the first shard in name order and so on, or one file of any
scorer format when there is one shard and ``--output`` has a file extension. Nothing appears at the output
until the job has finished: the parts go to a staging directory ``.OUT.<random>.tmp`` beside it, renamed
to ``OUT`` at the end (no ``_SUCCESS`` marker: the directory exists only when complete). Paths (inputs,
output, model directory) must be readable by every Ray node, e.g. a shared filesystem.
"""

from __future__ import annotations

import glob
import os
import pickle
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from voc.models.atomic import atomic_path
from voc.models.errors import VocError
from voc.models.paths import PACKAGE_ROOT
from voc.models.tables import CHUNK_ROWS, FORMATS, file_format, read_chunks

from .score import ChunkWriter, ScoreError, ScoreReport, check_input, score_chunks, write_summaries
from .summary import Summary, merge_summaries, summary_paths

SHARD, SHARD_ROW = "shard", "shard_row"
PART_FORMAT = ".parquet"


@dataclass
class ShardedReport(ScoreReport):
    """What a sharded scoring run did (``seconds`` includes starting Ray and loading the model)."""

    workers: int
    shards: int
    cpu_seconds: float  # the actors' CPU time on the shards (model loading and Ray's start not included)

    @property
    def rows_per_cpu_second(self) -> float:
        """Scoring speed per core, whatever else the machine runs: the figure to size a cluster with."""
        return self.rows / self.cpu_seconds if self.cpu_seconds else 0.0


def import_ray() -> Any:
    """The ``ray`` module, or a VocError saying how to install it (Ray is imported only for ``--engine ray``)."""
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise ScoreError("--engine ray needs Ray: pip install 'voc[ray]' (or '.[ray]' in a checkout)") from None
    return ray


def find_shards(inputs: list[Path]) -> list[Path]:
    """The input files: each input a file, a directory (its scorer files; names starting ``_`` or ``.``
    such as ``_SUCCESS`` skipped) or a glob pattern; in name order, each once."""
    found: list[Path] = []
    for given in inputs:
        if given.is_dir():
            files = [p for p in sorted(given.iterdir()) if p.is_file() and p.name[0] not in "._"]
            if unknown := [p.name for p in files if p.suffix.lower() not in FORMATS]:
                raise ScoreError(f"{given}: files of unknown type {', '.join(unknown[:5])}; shards must be {FORMATS}")
        elif given.is_file():
            files = [given]
        else:
            files = [Path(p) for p in sorted(glob.glob(str(given))) if Path(p).is_file()]
            if not files:
                raise ScoreError(f"{given}: no such file, directory or matching files")
        for path in files:
            file_format(path)  # a clear error for an unknown extension
        found += files
    shards = list(dict.fromkeys(found))
    if not shards:
        raise ScoreError(f"no input files in {', '.join(map(str, inputs))}")
    return shards


def check_output(shards: list[Path], output: Path) -> bool:
    """Whether ``output`` is one file (it has a scorer extension); refuse outputs that cannot be honoured."""
    single = output.suffix.lower() in FORMATS
    if single and len(shards) > 1:
        raise ScoreError(f"{output}: {len(shards)} input files need an output directory (a path without extension)")
    if not single and output.exists():
        raise ScoreError(f"{output}: already exists; remove it or choose another output directory")
    if any(output.resolve() == p.resolve() for p in shards):
        raise ScoreError(f"{output}: the output would replace an input; choose another output path")
    return single


@contextmanager
def staging_dir(final: Path) -> Iterator[Path]:
    """A fresh directory beside ``final``, removed with whatever is left in it when the block ends (even on Ctrl-C)."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


class ShardScorer:
    """A Ray actor: loads the model once, then scores whole shards into their parts (``batch.score_chunks``)."""

    def __init__(
        self,
        model: str,
        batch_size: int,
        text_column: str,
        id_column: str | None,
        encoding: str,
        backend: str | None = None,
        date_column: str | None = None,
        group_column: str | None = None,
        bom: bool = True,
    ):
        import torch

        from voc.models.backends import THREADS_ENV
        from voc.models.predictor import Predictor
        from voc.models.store import resolve_model

        torch.set_num_threads(1)  # one CPU per actor: the pool, not torch, uses the cores
        os.environ.setdefault(THREADS_ENV, "1")  # the ONNX backends' threads likewise
        path, tag = resolve_model(model)
        self.predictor = Predictor.load(path, backend=backend, tag=tag, batch_size=batch_size)
        self.text_column, self.id_column, self.encoding = text_column, id_column, encoding
        self.date_column, self.group_column, self.bom = date_column, group_column, bom

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list]:
        """Per shard its pickled Summary, or the message of the VocError that stopped it (returned as data:
        Ray would bury the exception in its own), and the CPU seconds the actor spent on it."""
        out: dict[str, list] = {"index": list(batch["index"]), "summary": [], "error": [], "cpu_s": []}
        for source, part in zip(batch["source"], batch["part"]):
            cpu = time.process_time()
            try:
                out["summary"].append(pickle.dumps(self.score(Path(source), Path(part))))
                out["error"].append("")
            except VocError as e:
                out["summary"].append(b"")
                out["error"].append(str(e))
            out["cpu_s"].append(time.process_time() - cpu)
        return out

    def score(self, source: Path, part: Path) -> Summary:
        """Score one shard into ``part`` (rewritten from scratch if Ray retries the shard)."""
        named = {"text": self.text_column, "id": self.id_column, "date": self.date_column}
        check_input(source, self.encoding, **named, **{"group-by": self.group_column})
        writer = ChunkWriter(part, file_format(part), self.predictor, bom=self.bom)
        try:
            summary_id = self.id_column or SHARD  # the summary names the shard when rows have no id
            chunks = self.chunks(source)
            columns = (self.text_column, summary_id, self.date_column, self.group_column)
            return score_chunks(self.predictor, chunks, writer, source, *columns)
        finally:
            writer.close()

    def chunks(self, source: Path) -> Iterator[pd.DataFrame]:
        """The shard's chunks plus ``shard`` and ``shard_row`` (the columns the user named were checked before,
        so that an error lists the shard's own columns)."""
        first = 1
        for chunk in read_chunks(source, CHUNK_ROWS, self.encoding):
            if first == 1:
                if clash := [c for c in (SHARD, SHARD_ROW) if c in chunk.columns]:
                    raise ScoreError(f"{source}: has a column {clash[0]!r}, which --engine ray adds; rename it")
            yield chunk.reset_index(drop=True).assign(
                **{SHARD: str(source), SHARD_ROW: range(first, first + len(chunk))}
            )
            first += len(chunk)


def start_ray(ray: Any, address: str | None, workers: int | None) -> int:
    """Connect to ``address`` (a cluster) or start a local Ray; the CPUs available to the pool.

    Workers import this checkout's code (``PYTHONPATH``), so a local run scores with the driver's version.
    """
    runtime_env = {"env_vars": {"PYTHONPATH": str(PACKAGE_ROOT), "BENTOML_DO_NOT_TRACK": "True"}}
    if address is None:
        ray.init(num_cpus=max(workers or 0, os.cpu_count() or 1), include_dashboard=False, runtime_env=runtime_env)
    else:
        ray.init(address=address, runtime_env=runtime_env)
    return int(ray.cluster_resources().get("CPU", 0))


def score_sharded(
    inputs: list[Path],
    output: Path,
    text_column: str,
    model: str,
    id_column: str | None = None,
    batch_size: int = 32,
    encoding: str = "utf-8",
    address: str | None = None,
    workers: int | None = None,
    progress: bool = True,
    backend: str | None = None,
    date_column: str | None = None,
    group_column: str | None = None,
    bom: bool = True,
) -> ShardedReport:
    """Score every row of every shard of ``inputs`` on a Ray actor pool into ``output``, the merged summary beside it.

    ``workers``: actors (default: one per CPU, at most one per shard). ``address``: a Ray cluster
    (``auto``, ``ray://host:10001``); ``None`` starts a local Ray. A Ray already running in this process
    is used instead, and left running. ``backend``, ``date_column``, ``group_column``, ``bom``: as ``voc score``'s.
    """
    from voc.models.store import resolve_model

    if workers is not None and workers < 1:
        raise ScoreError("--workers must be at least 1")
    shards = find_shards(inputs)
    single = check_output(shards, output)
    resolve_model(model)  # a wrong model stops the run here, before Ray starts
    ray = import_ray()
    started = time.perf_counter()
    owned = not ray.is_initialized()  # a Ray this process already runs (a notebook, the tests) is used as it is
    cpus = start_ray(ray, address, workers) if owned else int(ray.cluster_resources().get("CPU", 0))
    try:
        if workers is not None and workers > cpus:
            raise ScoreError(f"--workers {workers}: the Ray cluster has {cpus} CPUs; ask for at most {cpus}")
        pool = min(workers or cpus, len(shards))
        ray.data.DataContext.get_current().enable_progress_bars = progress
        md_path, html_path = summary_paths(output)
        with ExitStack() as stack:
            tmp_md, tmp_html = (stack.enter_context(atomic_path(p)) for p in (md_path, html_path))
            staging = stack.enter_context(staging_dir(output))
            ext = output.suffix.lower() if single else PART_FORMAT
            parts = [staging / f"part-{i:05d}{ext}" for i in range(len(shards))]
            scorer = dict(model=model, batch_size=batch_size, text_column=text_column, id_column=id_column)
            scorer |= dict(encoding=encoding, backend=backend, date_column=date_column, group_column=group_column)
            summaries, cpu_seconds = run_pool(ray, shards, parts, pool, {**scorer, "bom": bom})
            summary = merge_summaries(summaries)
            title = shards[0].name if len(shards) == 1 else f"{len(shards)} shards ({shards[0].parent})"
            write_summaries(summary, title, tmp_md, tmp_html)
            publish(staging, parts, output, single)
    finally:
        if owned:
            ray.shutdown()
    seconds = time.perf_counter() - started
    summaries_at = (md_path, html_path)
    return ShardedReport(
        summary.rows, summary.errors, seconds, output, summaries_at, pool, len(shards), cpu_seconds, summary=summary
    )


def run_pool(
    ray: Any, shards: list[Path], parts: list[Path], pool: int, scorer: dict[str, Any]
) -> tuple[list[Summary], float]:
    """Score ``shards[i]`` into ``parts[i]`` on ``pool`` actors (``ShardScorer(**scorer)``); the summaries in
    shard order. One shard in flight per actor, so that a free actor takes the next shard."""
    items = [{"index": i, "source": str(s), "part": str(p)} for i, (s, p) in enumerate(zip(shards, parts))]
    results = (
        ray.data.from_items(items, override_num_blocks=len(items))
        .map_batches(
            ShardScorer,
            fn_constructor_kwargs=scorer,
            batch_size=1,
            num_cpus=1,
            compute=ray.data.ActorPoolStrategy(size=pool, max_tasks_in_flight_per_actor=1),
        )
        .iter_rows()
    )
    summaries: dict[int, Summary] = {}
    cpu_seconds = 0.0
    for row in results:  # streamed: the first failed shard stops the job
        if row["error"]:
            raise ScoreError(row["error"])
        summaries[row["index"]] = pickle.loads(row["summary"])
        cpu_seconds += row["cpu_s"]
    return [summaries[i] for i in range(len(shards))], cpu_seconds


def publish(staging: Path, parts: list[Path], output: Path, single: bool) -> None:
    """Move the finished output into place in one rename: the one part as the file, or the whole directory."""
    if single:
        parts[0].chmod(0o644)
        parts[0].replace(output)
    else:
        staging.chmod(0o755)  # mkdtemp makes it private
        staging.rename(output)
