"""The in-process adaptive batcher: concurrent calls share batches, results go back to their callers."""

from __future__ import annotations

import asyncio
import threading

import pytest

from serving.batcher import MicroBatcher, Overloaded


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
        with pytest.raises(Overloaded, match="4 texts waiting") as shed:
            await asyncio.wait_for(batcher(["g"]), 0.5)  # answered at once, not after the queue drains
        assert shed.value.retry_after >= 1
        gate.set()
        assert await asyncio.gather(running, *queued) == [["a", "b"], ["c", "d"], ["e", "f"]]
        assert batcher.waiting == 0 and await batcher(["h"]) == ["h"]

    asyncio.run(main())
