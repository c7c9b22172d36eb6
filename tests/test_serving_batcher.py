"""The in-process adaptive batcher: concurrent calls share batches, results go back to their callers."""

from __future__ import annotations

import asyncio
import threading

import pytest

from voc.serving.batcher import MicroBatcher, Overloaded


def test_concurrent_calls_share_batches_and_get_their_own_results():
    batches: list[list[str]] = []
    gate = threading.Event()

    def fn(texts: list[str]) -> list[str]:
        gate.wait(5)  # hold the model so that the calls queue up
        batches.append(texts)
        return [t.upper() for t in texts]

    async def main() -> list[list[str]]:
        batcher = MicroBatcher(fn, max_texts=4, on_batch=lambda n: None)
        calls = [asyncio.create_task(batcher([f"a{i}", f"b{i}"])) for i in range(4)]
        await asyncio.sleep(0.05)
        gate.set()
        return await asyncio.gather(*calls)

    results = asyncio.run(main())
    assert results == [[f"A{i}", f"B{i}"] for i in range(4)]
    assert [len(b) for b in batches] == [4, 4]  # four calls of two texts, merged up to max_texts


def test_an_error_reaches_every_caller_of_the_batch():
    def fn(texts: list[str]) -> list[str]:
        raise RuntimeError("model failed")

    async def main() -> None:
        batcher = MicroBatcher(fn, max_texts=8, on_batch=lambda n: None)
        await asyncio.gather(batcher(["x"]), batcher(["y"]))

    with pytest.raises(RuntimeError, match="model failed"):
        asyncio.run(main())


def test_a_full_queue_sheds_load_at_once_and_frees_up_after():
    gate = threading.Event()

    def fn(texts: list[str]) -> list[str]:
        gate.wait(5)
        return texts

    async def main() -> None:
        batcher = MicroBatcher(fn, max_texts=2, on_batch=lambda n: None, max_waiting=4)
        running = asyncio.create_task(batcher(["a", "b"]))  # taken by the worker at once
        await asyncio.sleep(0.05)
        queued = [asyncio.create_task(batcher(["c", "d"])), asyncio.create_task(batcher(["e", "f"]))]
        await asyncio.sleep(0.05)
        assert batcher.waiting == 4
        with pytest.raises(Overloaded, match="work for 4 texts waiting") as shed:
            await asyncio.wait_for(batcher(["g"]), 0.5)  # answered at once, not after the queue drains
        assert shed.value.retry_after >= 1
        gate.set()
        assert await asyncio.gather(running, *queued) == [["a", "b"], ["c", "d"], ["e", "f"]]
        assert batcher.waiting == 0 and await batcher(["h"]) == ["h"]

    asyncio.run(main())


def test_a_job_of_its_own_is_admitted_by_its_cost_and_runs_alone():
    gate = threading.Event()
    ran: list[str] = []

    def fn(texts: list[str]) -> list[str]:
        gate.wait(5)
        ran.append("batch")
        return texts

    def job(cancelled: threading.Event) -> str:
        ran.append("job")
        return "explained"

    async def main() -> None:
        batcher = MicroBatcher(fn, max_texts=64, on_batch=lambda n: None, max_waiting=100)
        running = asyncio.create_task(batcher(["a"]))
        await asyncio.sleep(0.05)
        queued = asyncio.create_task(batcher.run(job, cost=90))  # 90 passes of explain work wait
        await asyncio.sleep(0.05)
        assert batcher.waiting == 90
        with pytest.raises(Overloaded):  # 90 + 11 > 100: explain work fills the same queue as scoring
            await batcher(["t"] * 11)
        gate.set()
        assert await queued == "explained" and await running == ["a"]
        assert ran == ["batch", "job"] and batcher.waiting == 0

    asyncio.run(main())


def test_a_caller_that_stops_waiting_stops_its_work():
    started, stopped, gate = threading.Event(), threading.Event(), threading.Event()
    steps: list[int] = []

    def job(cancelled: threading.Event) -> None:
        started.set()
        for step in range(100):
            if cancelled.is_set():
                stopped.set()
                raise RuntimeError("cancelled")
            steps.append(step)
            gate.wait(0.02)

    never: list[str] = []

    async def main() -> None:
        batcher = MicroBatcher(lambda t: t, max_texts=8, on_batch=lambda n: None)
        running = asyncio.create_task(batcher.run(job, cost=10))
        queued = asyncio.create_task(batcher.run(lambda c: never.append("ran"), cost=10))
        await asyncio.to_thread(started.wait, 5)
        running.cancel()  # the request timed out, or its client went away
        queued.cancel()
        await asyncio.to_thread(stopped.wait, 5)
        await asyncio.sleep(0.1)  # the worker moves on to the cancelled queued job, and skips it

    asyncio.run(main())
    assert stopped.is_set() and len(steps) < 100
    assert never == []
