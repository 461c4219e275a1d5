"""A bit of jargon: concurrency, parallelism, the three execution units, queues and locks."""

from __future__ import annotations

import asyncio
import inspect
import multiprocessing
import os
import queue
import threading
import time
import traceback
from typing import Any

import pytest

from tests.support.children import SHARED, change_shared
from tests.support.processes import python
from tests.support.tolerances import AT_MOST_ONE_CORE
from tests.support.waiting import PATIENCE, join, started

claim = pytest.mark.claim


@claim("J-1")
def test_asyncio_interleaves_many_tasks_on_one_thread(evidence):
    """Concurrency without parallelism: 50 tasks each make progress in turn, all on one thread,
    and together they never use more than one core."""
    order: list[int] = []
    idents: set[int] = set()

    async def task(number: int) -> None:
        for _ in range(3):
            order.append(number)
            idents.add(threading.get_ident())
            await asyncio.sleep(0)

    async def main() -> None:
        await asyncio.gather(*(task(n) for n in range(50)))

    c0, t0 = time.process_time(), time.perf_counter()
    asyncio.run(main())
    cores = (time.process_time() - c0) / (time.perf_counter() - t0)
    evidence.record(tasks=50, threads=len(idents), cores=cores)
    assert sorted(order) == sorted(list(range(50)) * 3)
    assert order[:50] == list(range(50)), "each task ran a step before any ran its second"
    assert idents == {threading.get_ident()}
    assert cores <= AT_MOST_ONE_CORE


@claim("J-3")
def test_each_execution_unit_has_its_own_stack_and_state(evidence):
    """A thread's stack holds only its own frames; a coroutine's locals survive its suspension."""
    stacks: list[list[str]] = []

    def inner() -> None:
        stacks.append([frame.name for frame in traceback.extract_stack()])

    unit = threading.Thread(target=inner)
    unit.start()
    join(unit)
    assert "test_each_execution_unit_has_its_own_stack_and_state" not in stacks[0]
    assert stacks[0][-1] == "inner"

    async def counter() -> int:
        local = 0
        for _ in range(3):
            local += 1
            await asyncio.sleep(0)
        return local

    async def main() -> list[int]:
        return list(await asyncio.gather(counter(), counter()))

    assert asyncio.run(main()) == [3, 3]
    evidence.record(thread_stack=stacks[0][-2:])


@claim("J-4")
def test_a_child_process_has_its_own_memory(evidence):
    """A global changed in a child process stays changed only there; the same change made in a
    thread is seen (control). What crosses to a spawned child is pickled: a lambda cannot."""
    context = multiprocessing.get_context()
    channel = context.SimpleQueue()
    child = context.Process(target=change_shared, args=(channel,))
    child.start()
    pid, value_in_child = channel.get()
    join(child)
    evidence.record(value_in_child=value_in_child, value_in_parent=SHARED["value"])
    assert pid != os.getpid() and value_in_child == "changed" and SHARED["value"] == "original"
    thread = threading.Thread(target=change_shared, args=(queue.SimpleQueue(),))
    thread.start()
    join(thread)
    try:
        assert SHARED["value"] == "changed"
    finally:
        SHARED["value"] = "original"
    with pytest.raises(Exception, match="pickle|Can't get local"):
        multiprocessing.get_context("spawn").Process(target=lambda: None).start()


@claim("J-5")
def test_a_process_starts_with_one_thread_and_its_threads_share_memory(evidence):
    """A fresh interpreter has a single thread, the main thread; an object a second thread
    mutates is the very object the main thread sees."""
    fresh = python("-I", "-c", "import threading; print(threading.active_count(), threading.current_thread().name)")
    assert fresh.stdout.split() == ["1", "MainThread"]
    box: list[int] = []
    unit = threading.Thread(target=box.append, args=(id(box),))
    unit.start()
    join(unit)
    evidence.record(fresh_interpreter=fresh.stdout.strip())
    assert box == [id(box)]


class Account:
    balance = 0


def _deposit(account: Account, both_read: threading.Barrier | None, lock: threading.Lock | None) -> None:
    if lock:
        lock.acquire()
    try:
        seen = account.balance
        if both_read:
            both_read.wait(5)  # force the interleaving: both threads read before either writes
        time.sleep(0)
        account.balance = seen + 1
    finally:
        if lock:
            lock.release()


@claim("J-6")
def test_unsynchronised_updates_are_lost_and_a_lock_prevents_it(evidence):
    """Two threads that read, then write back, lose an update when both read before either
    writes (the interleaving forced here, which preemption produces by chance). With a lock
    around the read-modify-write no update is lost."""
    lost = Account()
    for _ in range(20):
        both_read = threading.Barrier(2)
        with started(threading.Thread(target=_deposit, args=(lost, both_read, None)) for _ in range(2)):
            pass
    safe, lock = Account(), threading.Lock()
    for _ in range(20):
        with started(threading.Thread(target=_deposit, args=(safe, None, lock)) for _ in range(2)):
            pass
    evidence.record(deposits=40, balance_without_lock=lost.balance, balance_with_lock=safe.balance)
    assert lost.balance == 20
    assert safe.balance == 40


@claim("J-7")
def test_coroutines_suspend_and_resume_classic_and_native(evidence):
    """A generator function is a classic coroutine, driven by ``send``; an ``async def`` function
    is a native one, driven by ``await`` and an event loop."""

    def averager():
        total, count, average = 0.0, 0, None
        while True:
            term = yield average
            total, count = total + term, count + 1
            average = total / count

    classic = averager()
    next(classic)
    assert [classic.send(x) for x in (10, 20, 30)] == [10, 15, 20]

    async def native() -> str:
        await asyncio.sleep(0)
        return "resumed"

    coro = native()
    assert inspect.iscoroutine(coro) and inspect.isgenerator(classic)
    evidence.record(classic="generator + send", native=asyncio.run(coro))


@claim("J-8")
def test_a_coroutine_that_never_awaits_blocks_every_other(evidence):
    """Coroutines multitask cooperatively: one that computes without awaiting holds the loop,
    and another task makes no progress meanwhile. Control: with an await in its loop, it does."""
    for yields in (False, True):
        ticks: list[int] = []

        async def ticker() -> None:
            while True:
                ticks.append(1)
                await asyncio.sleep(0)

        async def busy(yields: bool = yields) -> int:
            deadline = time.perf_counter() + 0.05
            while time.perf_counter() < deadline:
                if yields:
                    await asyncio.sleep(0)
            return len(ticks)

        async def main() -> tuple[int, int]:
            task = asyncio.create_task(ticker())
            await asyncio.sleep(0)
            before = len(ticks)
            after = await busy()
            task.cancel()
            await asyncio.wait([task])
            return before, after

        before, after = asyncio.run(main())
        evidence.record(**{f"ticks_{'awaiting' if yields else 'blocking'}": after - before})
        assert (after > before) is yields


def _try_get(channel, put_done, out) -> None:
    """In a forked child: once the parent's put is over, take what reached this process.

    A thread queue is looked at without waiting: it is this process's copy, made at the fork,
    and nothing the parent does afterwards can reach it. A process queue is waited on, since its
    item comes through a pipe from the parent's feeder thread, whenever that thread runs."""
    put_done.wait(PATIENCE)
    try:
        out.put(channel.get_nowait() if isinstance(channel, queue.Queue) else channel.get(timeout=PATIENCE))
    except queue.Empty:
        out.put("nothing arrived")


@claim("J-9")
def test_each_unit_kind_has_its_own_queues_and_locks(evidence):
    """``queue`` and ``threading`` serve threads, ``multiprocessing`` serves processes, ``asyncio``
    serves coroutines. A ``queue.Queue`` item never reaches a forked child (control: a
    ``multiprocessing`` queue's does)."""
    for module in (queue, multiprocessing, asyncio):
        assert hasattr(module, "Queue")
    for module in (threading, multiprocessing, asyncio):
        assert hasattr(module, "Lock")
    assert hasattr(multiprocessing, "SimpleQueue") and hasattr(queue, "SimpleQueue")
    if "fork" not in multiprocessing.get_all_start_methods():
        evidence.not_demonstrable("needs the fork start method to hand a thread queue to a child")
    context = multiprocessing.get_context("fork")
    results = context.SimpleQueue()
    process_queue = context.Queue()
    channels: list[Any] = [queue.Queue(), process_queue]
    try:
        for channel in channels:
            put_done = context.Event()
            child = context.Process(target=_try_get, args=(channel, put_done, results))
            child.start()
            channel.put("item")
            put_done.set()  # the child looks only now: no race between its look and the put
            got = results.get()
            join(child)
            evidence.record(**{type(channel).__module__: got})
            assert got == ("nothing arrived" if isinstance(channel, queue.Queue) else "item")
    finally:
        process_queue.close()
        process_queue.join_thread()
