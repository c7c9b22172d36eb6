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
        batcher = MicroBatcher(fn, max_texts=2, on_batch=lambda n: None, max_waiting=6)
        running = asyncio.create_task(batcher(["a", "b"]))  # taken by the worker at once: still unfinished work
        await asyncio.sleep(0.05)
        queued = [asyncio.create_task(batcher(["c", "d"])), asyncio.create_task(batcher(["e", "f"]))]
        await asyncio.sleep(0.05)
        assert batcher.waiting == 6
        with pytest.raises(Overloaded, match="the service is busy") as shed:
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
        assert batcher.waiting == 91  # the running text is unfinished work too
        with pytest.raises(Overloaded):  # 1 + 90 + 10 > 100: explain work fills the same queue as scoring
            await batcher(["t"] * 10)
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


def test_a_batch_runs_in_chunks_and_stops_once_every_caller_is_gone():
    """A caller that goes away mid-batch frees the worker within one chunk, for the next caller."""
    chunks: list[list[str]] = []

    def fn(texts: list[str]) -> list[str]:
        chunks.append(texts)
        threading.Event().wait(0.2)  # a slow model: 0.2 s a chunk
        return [t.upper() for t in texts]

    async def main() -> float:
        batcher = MicroBatcher(fn, max_texts=64, on_batch=lambda n: None, chunk_cost=4)
        abandoned = asyncio.create_task(batcher(["long"] * 40, costs=[2] * 40))  # 20 chunks: 4 s of work
        await asyncio.sleep(0.3)
        abandoned.cancel()  # the client hung up
        loop = asyncio.get_running_loop()
        asked = loop.time()
        assert await batcher(["next"]) == ["NEXT"]
        assert batcher.waiting == 0
        return loop.time() - asked

    waited = asyncio.run(main())
    assert waited < 0.2 * 2 + 0.15  # the chunk that was running, then its own
    assert all(len(chunk) <= 2 for chunk in chunks[:-1]) and chunks[-1] == ["next"]
    assert len(chunks) <= 4  # the abandoned texts stopped after a chunk or two, of 20


def test_merged_callers_each_get_their_results_when_their_own_chunks_are_done():
    done: list[str] = []

    def fn(texts: list[str]) -> list[str]:
        threading.Event().wait(0.05)
        return texts

    async def main() -> None:
        batcher = MicroBatcher(fn, max_texts=64, on_batch=lambda n: None, chunk_cost=3)
        gate = asyncio.create_task(batcher(["g"]))  # runs first; the next two queue and merge

        async def call(name: str, n: int) -> list[str]:
            out = await batcher([f"{name}{i}" for i in range(n)])
            done.append(name)
            return out

        first, second = asyncio.create_task(call("a", 3)), asyncio.create_task(call("b", 6))
        second_gone = asyncio.create_task(call("c", 9))
        await asyncio.sleep(0.01)
        second_gone.cancel()  # gone before it ran: dropped, the others unaffected
        assert await gate == ["g"]
        assert await first == ["a0", "a1", "a2"] and await second == [f"b{i}" for i in range(6)]
        assert done == ["a", "b"] and batcher.waiting == 0

    asyncio.run(main())


def test_a_full_queue_says_when_there_will_be_room_at_the_measured_rate():
    gate = threading.Event()

    def fn(texts: list[str]) -> list[str]:
        gate.wait(5)
        return texts

    async def main() -> None:
        batcher = MicroBatcher(fn, max_texts=64, on_batch=lambda n: None, max_waiting=100, chunk_cost=100)
        batcher.rate = 10.0  # units per second, as the last chunk ran
        running = asyncio.create_task(batcher(["x"] * 4, costs=[20] * 4))  # 80 units
        await asyncio.sleep(0.05)
        with pytest.raises(Overloaded, match="retry after 5 s") as shed:
            await batcher(["y"], costs=[70])  # 80 + 70 - 100 = 50 units to finish first, at 10 a second
        assert shed.value.retry_after == 5
        gate.set()
        assert await running == ["x"] * 4

    asyncio.run(main())
