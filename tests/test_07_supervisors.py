"""Supervisors side by side: what a thread and a task are, and how each is stopped."""

from __future__ import annotations

import asyncio
import inspect
import sys
import threading
import time

import pytest

from tests.support.interpreters import not_here
from tests.support.waiting import PATIENCE, join, started

claim = pytest.mark.claim
# Each test here takes under a second; a spinner that never stops makes it hang. A hang fails
# after 15 s (PATIENCE, the helpers' own bound, and 5 s more), not the default 30 s: a break of
# the package hangs many of these tests, and the run must still end in minutes.
pytestmark = pytest.mark.timeout(15)


@claim("SS-1")
def test_a_thread_calls_a_callable_and_a_task_drives_a_coroutine(evidence):
    """``Thread(target=f)`` calls ``f``; a ``Task`` wraps a coroutine object, made by
    ``create_task(coro())`` -- a plain function will not do."""
    calls: list[str] = []
    thread = threading.Thread(target=calls.append, args=("called",))
    thread.start()
    join(thread)

    async def coro() -> str:
        return "driven"

    async def main() -> tuple[object, str]:
        task = asyncio.create_task(coro())
        with pytest.raises(TypeError):
            asyncio.create_task(coro)  # type: ignore[arg-type]  # the function, not a coroutine object
        return task.get_coro(), await task

    wrapped, result = asyncio.run(main())
    evidence.record(thread_target=calls, task_result=result)
    assert calls == ["called"] and result == "driven"
    assert inspect.iscoroutine(wrapped)


@claim("SS-2")
def test_no_api_stops_a_thread_from_outside_but_a_task_can_be_cancelled(evidence):
    """A thread stops only when it cooperates (here: when asked through an Event); it has no
    stop, kill or cancel. A task that never looks at any flag is still cancelled from outside."""
    assert not any(hasattr(threading.Thread, name) for name in ("stop", "kill", "terminate", "cancel"))
    asked = threading.Event()
    worker = threading.Thread(target=asked.wait, args=(PATIENCE,))
    worker.start()
    worker.join(0.05)
    assert worker.is_alive(), "nothing stopped it but asking"
    asked.set()
    join(worker)

    async def forever() -> None:
        while True:
            await asyncio.sleep(0.01)

    async def main() -> bool:
        task = asyncio.create_task(forever())
        await asyncio.sleep(0.03)
        assert task.cancel() is True
        await asyncio.wait([task], timeout=PATIENCE)
        return task.cancelled()

    cancelled = asyncio.run(main())
    evidence.record(task_cancelled_from_outside=cancelled)
    assert cancelled


class Counter:
    value = 0


def _read_modify_write(counter: Counter, times: int) -> None:
    for _ in range(times):
        current = counter.value
        counter.value = int(current) + 1  # a call between the read and the write: a switch point


@claim("SS-3", "J-6")
def test_threads_are_switched_between_any_two_operations_coroutines_only_at_await(evidence):
    """Threads running the same unsynchronised read-modify-write are switched out between the
    read and the write and lose updates (looked for until it happens, with a tiny switch
    interval); coroutines running it between awaits never lose one."""
    sys.setswitchinterval(1e-6)  # restored by the leak guard
    lost = 0
    rounds = 0
    deadline = time.monotonic() + PATIENCE
    while lost == 0 and time.monotonic() < deadline:
        counter = Counter()
        with started(threading.Thread(target=_read_modify_write, args=(counter, 20_000)) for _ in range(4)):
            pass
        lost = 4 * 20_000 - counter.value
        rounds += 1
    evidence.record(thread_updates_lost=lost, thread_rounds=rounds)
    assert lost > 0, "threads never lost an update"

    async def task(counter: Counter) -> None:
        for _ in range(2_000):
            _read_modify_write(counter, 10)
            await asyncio.sleep(0)  # every task yields often, but never between read and write

    async def main() -> int:
        counter = Counter()
        await asyncio.gather(*(task(counter) for _ in range(4)))
        return counter.value

    total = asyncio.run(main())
    evidence.record(coroutine_updates_lost=4 * 2_000 * 10 - total)
    assert total == 4 * 2_000 * 10


# The body of a cooperating unit in another interpreter: it runs until asked, through the queue.
UNTIL_ASKED = """
import time
running.put(True)
while asked.empty():
    time.sleep(0.005)
"""


@claim("SS-4")
def test_an_interpreter_at_work_is_stopped_only_by_asking_it_as_a_thread_is(evidence):
    """*Beyond the chapter.* An interpreter of ``concurrent.interpreters`` is no task: while it
    runs code nothing from outside ends it. ``close()`` is refused, and so is more code; it
    stops when it is asked, through a queue, and looks. Control: the same calls succeed once
    it has been asked and its thread has ended."""
    if not_here(evidence):
        return
    from concurrent import interpreters  # type: ignore[attr-defined,unused-ignore]

    interpreter = interpreters.create()
    running, asked = interpreters.create_queue(), interpreters.create_queue()
    interpreter.prepare_main(running=running, asked=asked)
    refused: dict[str, str] = {}
    try:
        thread = threading.Thread(target=interpreter.exec, args=(UNTIL_ASKED,))
        thread.start()
        try:
            assert running.get(timeout=PATIENCE) is True  # (whole seconds: gh-153005; it comes sooner)
            for name, attempt in (("close", interpreter.close), ("exec", lambda: interpreter.exec("pass"))):
                try:
                    attempt()
                except interpreters.InterpreterError as error:
                    refused[name] = str(error)
            still_running = thread.is_alive() and interpreter.is_running()
        finally:
            asked.put(None)
            join(thread)
        interpreter.exec("stopped = True")  # the control: once it has stopped, both are taken
        afterwards = interpreter.is_running()
    finally:
        interpreter.close()
    evidence.record(refused_while_running=refused, running_until_asked=still_running, running_after=afterwards)
    assert set(refused) == {"close", "exec"}, refused
    assert still_running and not afterwards
