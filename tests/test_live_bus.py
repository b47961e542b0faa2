"""The event bus: filters, thread-safe publishing, and a slow subscriber that can never slow anyone else."""

from __future__ import annotations

import asyncio
import threading
import time

from desktop.live.bus import EventBus, event_kind


def test_kinds_filter_by_type_prefix_and_hook_events() -> None:
    async def scenario() -> dict[str, list[str]]:
        bus = EventBus()
        bus.attach_loop(asyncio.get_running_loop())
        subs = {"all": bus.subscribe(None), "requests": bus.subscribe(["request.added"]),
                "session": bus.subscribe(["session"]), "hook": bus.subscribe(["hook"]),
                "pre": bus.subscribe(["PreToolUse"])}
        for event in ({"type": "request.added"}, {"type": "session.created"}, {"type": "session.updated"},
                      {"hook_event_name": "PreToolUse", "tool_name": "Bash"}, {"hook_event_name": "Stop"}):
            bus.publish(event)
        out = {}
        for name, sub in subs.items():
            out[name] = [event_kind(sub.queue.get_nowait()) for _ in range(sub.queue.qsize())]
        return out

    got = asyncio.run(scenario())
    assert got["all"] == ["request.added", "session.created", "session.updated", "PreToolUse", "Stop"]
    assert got["requests"] == ["request.added"]
    assert got["session"] == ["session.created", "session.updated"]
    assert got["hook"] == ["PreToolUse", "Stop"]
    assert got["pre"] == ["PreToolUse"]


def test_slow_subscriber_overflows_alone_and_publisher_never_waits() -> None:
    async def scenario() -> tuple[int, int, bool, float, int]:
        bus = EventBus(queue_size=50)
        bus.attach_loop(asyncio.get_running_loop())
        slow = bus.subscribe(None)  # never reads
        fast = bus.subscribe(None, queue_size=5_000)  # room for a burst while the loop is busy elsewhere
        received: list[int] = []

        async def drain() -> None:
            while len(received) < 2_000:
                received.append((await fast.queue.get())["n"])

        reader = asyncio.create_task(drain())
        took: list[float] = []

        def publisher() -> None:
            start = time.perf_counter()
            for n in range(2_000):
                bus.publish({"type": "request.added", "n": n})
                if n % 40 == 39:
                    time.sleep(0.001)  # let the loop run, as ingest does between commits
            took.append(time.perf_counter() - start)

        thread = threading.Thread(target=publisher)
        thread.start()
        await asyncio.wait_for(reader, 10)
        thread.join()
        return slow.queue.qsize(), slow.dropped, slow.overflowed.is_set(), took[0], len(set(received))

    size, dropped, overflowed, took, fast_got = asyncio.run(scenario())
    assert fast_got == 2_000  # the fast client saw every event, in spite of the slow one
    assert size == 50 and dropped == 1_950 and overflowed
    assert took < 2.0  # 2,000 publishes (with 50 ms of deliberate sleeps) never waited on the slow queue


def test_listeners_run_on_the_publishing_thread_and_failures_are_contained() -> None:
    bus = EventBus()
    seen: list[tuple[str, str]] = []

    def broken(event: dict) -> None:
        raise ValueError("boom")

    bus.add_listener(broken)
    bus.add_listener(lambda e: seen.append((e["type"], threading.current_thread().name)))
    thread = threading.Thread(target=lambda: bus.publish({"type": "sync.started"}), name="ingest-thread")
    thread.start()
    thread.join()
    assert seen == [("sync.started", "ingest-thread")]
    assert bus.published == 1
