"""Spinner with coroutines: a task on the event loop, stopped by cancellation."""

from __future__ import annotations

import asyncio
import io
import threading
import time

import pytest

from spinners import asyncio_spinner
from spinners.asyncio_spinner import slow_async
from tests.support.frames import frames_in

claim = pytest.mark.claim
# Each test here takes under a second; a spinner that never stops makes it hang. A hang fails
# after 15 s (PATIENCE, the helpers' own bound, and 5 s more), not the default 30 s: a break of
# the package hangs many of these tests, and the run must still end in minutes.
pytestmark = pytest.mark.timeout(15)


class ThreadRecordingStream(io.StringIO):
    """A stream that notes which thread wrote each piece."""

    def __init__(self) -> None:
        super().__init__()
        self.writers: set[int] = set()

    def write(self, text: str) -> int:
        self.writers.add(threading.get_ident())
        return super().write(text)


@claim("SA-1")
def test_the_supervisor_schedules_the_spinner_and_it_runs_while_the_supervisor_awaits(evidence):
    """``asyncio.run`` drives the supervisor; ``create_task`` hands back a pending ``Task`` at
    once, before the spinner has drawn anything; the spinner draws while the supervisor is
    suspended at ``await``, and the supervisor returns the answer."""
    out = io.StringIO()
    seen: dict[str, object] = {}

    async def main() -> int:
        task = asyncio.create_task(asyncio_spinner.spin("thinking!", 0.02, out))
        seen["task"], seen["output_at_creation"] = repr(task), out.getvalue()
        await asyncio.sleep(0.15)
        seen["frames_after_await"] = len(frames_in(out.getvalue()))
        task.cancel()
        await asyncio.wait([task])
        return 42

    assert asyncio.run(main()) == 42
    evidence.record(**seen)
    assert str(seen["task"]).startswith("<Task pending name=")
    assert seen["output_at_creation"] == ""
    assert isinstance(seen["frames_after_await"], int) and seen["frames_after_await"] >= 2
    # and the package's supervisor, end to end
    out = io.StringIO()
    assert asyncio.run(asyncio_spinner.supervisor(lambda: slow_async(0.1), interval=0.02, out=out)) == 42
    assert out.getvalue().startswith("spinner object: <Task pending name=")


@claim("SA-2")
def test_cancel_raises_cancelled_error_at_the_spinners_await(evidence):
    """``Task.cancel()`` throws ``CancelledError`` into the spinner where it waits, in
    ``asyncio.sleep``; the spinner catches it, blanks its line and returns normally."""
    out = io.StringIO()

    async def main() -> tuple[bool, bool, object]:
        task = asyncio.create_task(asyncio_spinner.spin("thinking!", 60, out))
        await asyncio.sleep(0)  # the spinner draws its first frame and waits
        task.cancel()
        await asyncio.wait([task])
        return task.cancelled(), task.done(), task.result()

    cancelled, done, result = asyncio.run(main())
    evidence.record(frames=len(frames_in(out.getvalue())), task_cancelled=cancelled)
    assert done and not cancelled and result is None, "it caught the CancelledError and ended on its own"
    assert out.getvalue() == "\r\\ thinking!\r" + " " * len("\\ thinking!") + "\r"


@claim("SA-2")
def test_when_the_supervisor_returns_its_spinner_is_done_and_its_line_blank(evidence):
    """Cancelling is a request: the supervisor waits for the cancelled spinner to finish, so that
    when ``await supervisor(...)`` returns, the spinner task is done and its line is blank -- a
    caller that prints the answer next, in the same event loop, prints it on a clean line."""
    out = io.StringIO()

    async def main() -> tuple[int, str, list[str]]:
        answer = await asyncio_spinner.supervisor(lambda: slow_async(0.1), interval=0.02, out=out)
        at_return = out.getvalue()  # before anything else in the loop gets a turn
        others = [repr(task) for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        return answer, at_return, others

    answer, at_return, others = asyncio.run(main())
    evidence.record(tasks_left_at_return=others, ends_blank_at_return=at_return.endswith(" \r"))
    assert answer == 42
    assert others == [], "the spinner task was still pending when the supervisor returned"
    assert at_return.endswith("\r" + " " * len("| thinking!") + "\r"), "the line was not blank yet"


@claim("SA-2")
def test_cancellation_arrives_as_cancelled_error_inside_the_awaited_sleep():
    """Seen from inside: the exception is raised by the ``await asyncio.sleep`` line itself."""
    caught: list[str] = []

    async def waiter() -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError as error:
            caught.append(error.__traceback__.tb_frame.f_code.co_name if error.__traceback__ else "")
            raise

    async def main() -> bool:
        task = asyncio.create_task(waiter())
        await asyncio.sleep(0)
        task.cancel()
        await asyncio.wait([task])
        return task.cancelled()

    assert asyncio.run(main()) is True
    assert caught == ["waiter"]


@claim("SA-3")
def test_time_sleep_in_a_coroutine_freezes_the_loop_and_the_spinner_never_runs(evidence):
    """A ``slow`` that calls ``time.sleep`` blocks the whole event loop: the spinner task draws
    no frame; cancelled before it ever ran, it never runs its body (not even the blanking).
    Control: ``asyncio.sleep`` of the same length lets it draw."""

    async def blocking() -> int:
        time.sleep(0.2)
        return 42

    frozen, flowing = io.StringIO(), io.StringIO()
    assert asyncio.run(asyncio_spinner.supervisor(blocking, interval=0.02, out=frozen)) == 42
    assert asyncio.run(asyncio_spinner.supervisor(lambda: slow_async(0.2), interval=0.02, out=flowing)) == 42
    frozen_body = frozen.getvalue().split("\n", 1)[1]
    evidence.record(frames_blocking=len(frames_in(frozen_body)), frames_awaiting=len(frames_in(flowing.getvalue())))
    assert frozen_body == "", "no frame, and no blanking either: the spinner's body never ran"
    assert len(frames_in(flowing.getvalue())) >= 3


@claim("SA-4")
def test_the_spinner_and_the_supervisor_share_one_thread(evidence):
    """Both coroutines run on the thread that called ``asyncio.run``."""
    out = ThreadRecordingStream()
    threads_before = threading.active_count()
    counted: list[int] = []

    async def work() -> int:
        counted.append(threading.active_count())
        await asyncio.sleep(0.1)
        out.write("")  # the supervisor's side writes too
        return 42

    asyncio.run(asyncio_spinner.supervisor(work, interval=0.02, out=out))
    evidence.record(writer_threads=len(out.writers), frames=len(frames_in(out.getvalue())))
    assert out.writers == {threading.get_ident()}
    assert counted == [threads_before], "no thread was started for the tasks"
