"""In-process adaptive batching and bounded admission: every piece of model work of the service queues here.

While one batch runs on the model, texts from requests that arrive queue up; when it finishes, everything
queued (up to ``max_texts``) goes into the next batch. A lone request therefore runs at once, and under
load the batches grow with the load.

Work that cannot be merged (explaining a request's texts: many forward passes per text) queues in the same
line as a job of its own (:meth:`MicroBatcher.run`), admitted by its cost in forward passes.

Work is counted in the caller's cost units (the service: tokens the encoder reads, ``voc.serving.reading_budget``).
A merged batch runs in chunks of at most ``chunk_cost`` (at least one text each); a caller gets its results as
soon as the chunk with its last text is done, not when the whole merged batch is.

Load shedding: at most ``max_waiting`` units of unfinished work (queued, or in the batch that runs) are
admitted. A call that would add more raises :class:`Overloaded` at once (the service answers 503 with
``Retry-After``: the seconds until the work ahead has made room, at the throughput the recent chunks ran at),
so that an accepted call finishes within about ``max_waiting / throughput`` instead of a wait that grows with
the load.

Cancellation: a caller that stops waiting (its request timed out, its client went away) cancels its work.
A queued call is dropped before it runs; before each chunk of a running batch the texts of callers that are
gone are dropped, and a batch with no caller left stops; a running job sees its ``threading.Event`` set and
stops at its next check. So no thread keeps computing for nobody for longer than one chunk (or one step of
a job).

Why not BentoML's ``batchable=True``: a public API reaches a batchable one through BentoML's in-process
HTTP self-proxy, which under 16 concurrent clients failed 5-10% of requests with
``aiohttp ServerDisconnectedError`` (HTTP 500) in BentoML 1.4.39, and costs a second JSON round trip.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

R = TypeVar("R")
T = TypeVar("T")


class Overloaded(Exception):
    """Too much work is unfinished already: the caller should retry after ``retry_after`` seconds, when the
    work ahead will have made room for its own (at the throughput measured so far)."""

    def __init__(self, retry_after: int = 1) -> None:
        super().__init__(
            f"the service is busy: the work already queued leaves no room for this request now; "
            f"retry after {retry_after} s"
        )
        self.retry_after = retry_after


@dataclass
class _Job:
    """Queued work: ``texts`` to score in a merged batch (``costs``: each text's), or ``work(cancelled)`` to run
    on its own. ``results`` collects a merged job's results chunk by chunk."""

    cost: int
    future: asyncio.Future
    texts: list[str] | None = None
    costs: list[int] | None = None
    work: Callable[[threading.Event], Any] | None = None
    cancelled: threading.Event = field(default_factory=threading.Event)
    results: list[Any] = field(default_factory=list)

    @property
    def gone(self) -> bool:
        """The caller stopped waiting (or was answered): nobody reads more of this job's work."""
        return self.future.done()


def release_memory() -> None:
    """Give freed heap memory back to the system (glibc keeps it in its arenas otherwise): after a large
    job, the worker's resident size returns near its baseline instead of staying at its peak."""
    libc = ctypes.util.find_library("c")
    if libc is not None:
        try:
            ctypes.CDLL(libc).malloc_trim(0)
        except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to trim
            pass


class MicroBatcher(Generic[R]):
    """Call ``fn(texts) -> results`` (one result per text) on merged batches, one chunk or job at a time, in a
    thread; ``run`` queues a job of its own in the same line."""

    def __init__(
        self,
        fn: Callable[[list[str]], list[R]],
        max_texts: int,
        on_batch: Callable[[int], None],
        max_waiting: int | None = None,
        chunk_cost: int | None = None,
    ) -> None:
        self.fn, self.max_texts, self.on_batch = fn, max_texts, on_batch
        self.max_waiting, self.chunk_cost = max_waiting, chunk_cost
        self.pending: deque[_Job] = deque()
        self.waiting = 0  # cost units of unfinished work: queued, or not yet done in the running batch or job
        self.rate: float | None = None  # cost units per second of the last chunk or job that ran
        self.wake = asyncio.Event()
        self.worker: asyncio.Task[None] | None = None

    async def __call__(self, texts: list[str], costs: list[int] | None = None) -> list[R]:
        """The results for ``texts`` (``costs``: each text's, 1 each by default); :class:`Overloaded` at once
        when the unfinished work leaves no room for them."""
        if not texts:
            return []
        costs = costs if costs is not None else [1] * len(texts)
        return await self._queue(_Job(sum(costs), self._future(), texts=texts, costs=costs))

    async def run(self, work: Callable[[threading.Event], T], cost: int) -> T:
        """``work(cancelled)`` in the worker thread, alone, once ``cost`` units of room are free (:class:`Overloaded`
        at once when they are not). ``cancelled`` is set when the caller stops waiting; ``work`` should check it
        between steps and stop by raising (``voc.models.evidence.Cancelled``)."""
        return await self._queue(_Job(cost, self._future(), work=work))

    @staticmethod
    def _future() -> asyncio.Future:
        return asyncio.get_running_loop().create_future()

    def retry_after(self, cost: int) -> int:
        """Whole seconds until the unfinished work has made room for ``cost`` more, at the last measured rate."""
        assert self.max_waiting is not None
        excess = self.waiting + cost - self.max_waiting
        return max(1, math.ceil(excess / self.rate)) if self.rate else 1

    async def _queue(self, job: _Job) -> Any:
        if self.max_waiting is not None and self.waiting and self.waiting + job.cost > self.max_waiting:
            raise Overloaded(self.retry_after(job.cost))
        job.future.add_done_callback(lambda f: f.cancelled() and job.cancelled.set())
        self.pending.append(job)
        self.waiting += job.cost
        self.wake.set()
        if self.worker is None or self.worker.done():
            self.worker = asyncio.create_task(self._work())
        return await job.future

    def _take(self) -> list[_Job]:
        """The next work: a job of its own, or the queued scoring calls that fit in ``max_texts`` together;
        calls whose caller is gone are dropped."""
        jobs = [self.pending.popleft()]
        if jobs[0].texts is not None:
            size = len(jobs[0].texts)
            while self.pending and self.pending[0].texts is not None:
                if size + len(self.pending[0].texts) > self.max_texts:
                    break
                jobs.append(self.pending.popleft())
                size += len(jobs[-1].texts)
        return self._live(jobs)

    def _live(self, jobs: list[_Job]) -> list[_Job]:
        """``jobs`` without those whose caller is gone; their work left undone no longer counts as waiting."""
        for job in jobs:
            if job.gone:
                self.waiting -= sum((job.costs or [job.cost])[len(job.results) :])
        return [job for job in jobs if not job.gone]

    async def _work(self) -> None:
        while True:
            if not self.pending:
                self.wake.clear()
                await self.wake.wait()
            jobs = self._take()
            if not jobs:
                continue
            if jobs[0].work is not None:
                await self._run_alone(jobs[0])
            else:
                await self._run_batch(jobs)

    async def _timed(self, fn: Callable[..., T], arg: Any, cost: int) -> T:
        """``fn(arg)`` in a thread; when it returns, ``rate`` becomes ``cost`` over the time it took (a job that
        stopped early would overstate it)."""
        started = time.perf_counter()
        result = await asyncio.to_thread(fn, arg)
        self.rate = cost / max(time.perf_counter() - started, 1e-3)
        return result

    async def _run_alone(self, job: _Job) -> None:
        assert job.work is not None
        try:
            result = await self._timed(job.work, job.cancelled, job.cost)
        except Exception as e:  # a cancelled job's too: its caller is gone, nobody reads it
            if not job.future.done():
                job.future.set_exception(e)
        else:
            if not job.future.done():
                job.future.set_result(result)
        finally:
            self.waiting -= job.cost
            await asyncio.to_thread(release_memory)

    def _chunk(self, jobs: list[_Job]) -> list[tuple[_Job, int]]:
        """The next chunk: ``(job, index of a text)`` in order, at most ``chunk_cost`` together (at least one)."""
        chunk: list[tuple[_Job, int]] = []
        total = 0
        for job in jobs:
            assert job.texts is not None and job.costs is not None
            for i in range(len(job.results), len(job.texts)):
                if chunk and self.chunk_cost is not None and total + job.costs[i] > self.chunk_cost:
                    return chunk
                chunk.append((job, i))
                total += job.costs[i]
        return chunk

    async def _run_batch(self, jobs: list[_Job]) -> None:
        self.on_batch(sum(len(job.texts or []) for job in jobs))
        while jobs := self._live(jobs):
            chunk = self._chunk(jobs)
            texts = [job.texts[i] for job, i in chunk]  # type: ignore[index]
            cost = sum(job.costs[i] for job, i in chunk)  # type: ignore[index]
            try:
                results = await self._timed(self.fn, texts, cost)
            except Exception as e:  # every caller of the batch gets the error
                for job in jobs:
                    self.waiting -= sum(job.costs[len(job.results) :])  # type: ignore[index]
                    if not job.future.done():
                        job.future.set_exception(e)
                return
            self.waiting -= cost
            for (job, _), result in zip(chunk, results):
                job.results.append(result)
            for job in jobs:
                if len(job.results) == len(job.texts or []) and not job.future.done():
                    job.future.set_result(job.results)
