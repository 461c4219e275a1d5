"""The package and its command line: each spinner answers, bad input is refused in one line,
Ctrl-C leaves a clean line and no orphan, and the demo looks right on a real terminal."""

from __future__ import annotations

import asyncio
import io
import os
import re
import signal
import time

import psutil
import pyte
import pytest

from spinners import asyncio_spinner, process_spinner, thread_spinner
from spinners.asyncio_spinner import is_prime_blocking, is_prime_napping, slow_async
from spinners.cli import build_parser, main
from spinners.prime_pool import LARGE, SMALL
from spinners.work import is_prime, slow
from tests.support.frames import Metronome, frames_in, median_interval
from tests.support.platforms import needs
from tests.support.primes import miller_rabin, prime_taking
from tests.support.processes import (
    ROOT,
    cli_in_own_session,
    computing,
    computing_below,
    ctrl_c,
    on_a_terminal,
    read_until,
    wait_for_its_sleep,
)
from tests.support.tolerances import AT_LEAST, PACE_MARGIN
from tests.support.waiting import PATIENCE, timed, wait_until

# the package's own tests, not the chapter's claims: `python -m spec.run --package`
pytestmark = pytest.mark.package

QUICK = 1_000_000_000_039  # prime; checked in about 15 ms


@pytest.mark.parametrize(
    "work, answer",
    [(lambda: slow(0.05), 42), (lambda: is_prime(QUICK), True), (lambda: is_prime(QUICK + 2), False)],
    ids=["sleep", "prime", "composite"],
)
def test_the_thread_supervisor_returns_the_works_answer(work, answer):
    out = io.StringIO()
    assert thread_spinner.supervisor(work, interval=0.01, out=out) == answer
    assert out.getvalue().startswith("spinner object: <Thread(")


def test_the_process_supervisor_returns_the_works_answer(capfd):
    assert process_spinner.supervisor(lambda: slow(0.05), interval=0.01) == 42
    assert process_spinner.supervisor(lambda: is_prime(QUICK), interval=0.01, start_method="spawn") is True
    assert "spinner object: <" in capfd.readouterr().out


@pytest.mark.parametrize(
    "work, answer",
    [
        (lambda: slow_async(0.05), 42),
        (lambda: is_prime_blocking(QUICK), True),
        (lambda: is_prime_napping(QUICK, 100), True),
    ],
    ids=["sleep", "prime", "nap"],
)
def test_the_asyncio_supervisor_returns_the_works_answer(work, answer):
    assert asyncio.run(asyncio_spinner.supervisor(work, interval=0.01, out=io.StringIO())) == answer


def test_the_napping_check_agrees_with_the_plain_one():
    # besides the fixtures: the edge cases, and squares and products of small odd primes
    edges = {0: False, 1: False, 3: True, 4: False, 5: True, 7: True, 25: False, 35: False, 49: False}
    quick = [n for n in SMALL if n < 10**13]  # (IMP-4 checks the rest)
    assert all(miller_rabin(n) is verdict for n, verdict in edges.items())  # the judge agrees with the edges
    for n in [*quick, *edges]:
        assert asyncio.run(is_prime_napping(n, every=1000)) is miller_rabin(n), n
        assert is_prime(n) is miller_rabin(n), n


@pytest.mark.parametrize(
    "args, last_line",
    [
        (["thread", "--delay", "0.2"], "Answer: 42"),
        (["process", "--delay", "0.2"], "Answer: 42"),
        (["asyncio", "--delay", "0.2"], "Answer: 42"),
        (["thread", "--work", "prime", "--number", str(QUICK)], f"Answer: {QUICK} is prime"),
        (["process", "--work", "prime", "--number", str(QUICK + 2)], f"Answer: {QUICK + 2} is not prime"),
        (["asyncio", "--work", "nap", "--number", "1_000_000_007", "--nap-every", "10"], "Answer: 1000000007 is prime"),
        (
            ["asyncio", "--work", "prime", "--number", "9", "--message", "hmm", "--interval", "0.5"],
            "Answer: 9 is not prime",
        ),
    ],
)
def test_the_command_line_runs_each_spinner_and_prints_the_answer_on_a_clean_line(args, last_line, spinners_main):
    args = [*args, "--animate", "always"]  # frames through a pipe: asked for (see test_11)
    result = spinners_main(*args, "--interval", "0.05") if "--interval" not in args else spinners_main(*args)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    kind = {"thread": "<Thread(", "process": "Process name=", "asyncio": "<Task pending"}[args[0]]
    assert result.stdout.startswith("spinner object: <") and kind in result.stdout.split("\n", 1)[0]
    # on a clean line: after the spinner's blanking, or after the first line when it never ran
    assert result.stdout.endswith(("\r" + last_line + "\n", ">\n" + last_line + "\n"))


# What each supervisor prints before it starts its unit, as the chapter shows it: the unit not
# started yet (a thread or a process ``initial``, a task ``pending`` with its coroutine not run).
FIRST_LINES = {
    "thread": r"spinner object: <Thread\(Thread-\d+ \(spin\), initial\)>",
    "process": r"spinner object: <(Spawn|Fork|ForkServer)?Process name='(Spawn|Fork|ForkServer)?Process-\d+' parent={pid} initial>",
    "asyncio": r"spinner object: <Task pending name='Task-\d+' coro=<spin\(\) running at .+asyncio_spinner\.py:\d+>>",
}


@pytest.mark.parametrize("unit", FIRST_LINES)
def test_each_spinner_program_first_shows_its_unit_not_yet_started(unit, spinners_main):
    """The program's first line is the unit's repr before ``start()``: ``initial`` for a thread
    and for a process (whose parent is the program), ``pending`` for a task whose coroutine has
    not run. A line printed after the start would read ``started`` (see ST-7, SP-4)."""
    result = spinners_main(unit, "--delay", "0.05", "--interval", "0.01", "--animate", "always")
    assert result.returncode == 0, result.stderr
    first = result.stdout.split("\n", 1)[0]
    assert re.fullmatch(FIRST_LINES[unit].format(pid=os.getpid()), first), first


@pytest.mark.parametrize("work, draws", [("prime", False), ("nap", True)])
def test_the_asyncio_command_freezes_on_the_plain_check_and_draws_while_napping(work, draws, spinners_main):
    """``--work prime`` never lets the spinner task run; ``--work nap`` does at each nap
    (1 000 000 007 takes some 15 800 divisions: over a thousand naps of one in ten)."""
    naps = ["--nap-every", "10"] if work == "nap" else []
    result = spinners_main(
        "asyncio", "--work", work, "--number", "1000000007", *naps, "--interval=0.001", "--animate=always"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith("Answer: 1000000007 is prime\n")
    assert bool(frames_in(result.stdout)) is draws


@pytest.mark.parametrize(
    "runner, label",
    [("sequential", "sequentially"), ("thread", "with 2 threads"), ("process", "with 2 processes")],
)
def test_the_primes_command_prints_each_verdict_and_the_total(runner, label, spinners_main):
    numbers = ["2", "9", str(QUICK)]
    workers = ["--workers", "2"] if runner != "sequential" else []
    result, wall = timed(lambda: spinners_main("primes", "--runner", runner, *workers, *numbers))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"Checking 3 numbers {label}:"
    verdicts = {line.split()[0]: line.split()[1] == "P" for line in lines[1:-2]}
    assert verdicts == {"2": True, "9": False, str(QUICK): True}
    assert lines[-2] == "2 of 3 prime"
    assert lines[-1].startswith("Total time: ") and lines[-1].endswith("s")
    # the total covers every check, and cannot exceed the command's own run (both as printed:
    # to the hundredth, the total may round up by half of one)
    total = float(lines[-1].removeprefix("Total time: ").removesuffix("s"))
    slowest = max(float(line.split()[-1].rstrip("s")) for line in lines[1:-2])
    assert slowest - 0.005 <= total <= wall + 0.005, (slowest, total, wall)


CHECK_SECONDS = 0.3  # long against the program's own costs: parsing, printing, starting a thread
OWN_COSTS = 0.05  # seconds of CPU the program spends outside the check, at the most


@pytest.mark.parametrize("runner", ["sequential", "thread"])
def test_the_primes_command_prints_the_time_each_check_took(runner, spinners_main):
    """Each verdict's time is the check's own, held against clocks the program does not read:
    at least the CPU time the program used, less its own costs (a check computes without pause,
    on one thread), and at most the command's wall time; the total lies between the check and
    the command. (Worker processes are timed in the other tests: their CPU is not this
    process's.)"""
    number = prime_taking(CHECK_SECONDS)
    workers = ["--workers", "1"] if runner != "sequential" else []
    cpu0, wall0 = time.process_time(), time.perf_counter()
    result = spinners_main("primes", "--runner", runner, *workers, str(number))
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[1].split()[:2] == [str(number), "P"]
    elapsed = float(lines[1].split()[-1].rstrip("s"))
    total = float(lines[-1].removeprefix("Total time: ").removesuffix("s"))
    assert cpu - OWN_COSTS <= elapsed <= wall, (cpu, elapsed, wall)
    assert elapsed - 0.005 <= total <= wall + 0.005, (elapsed, total, wall)  # printed to the hundredth


@pytest.mark.parametrize(
    "args, complaint",
    [
        (["bogus"], "invalid choice: 'bogus'"),
        ([], "required"),
        (["thread", "--delay", "-1"], "--delay: must be from 0 to 1000000000 seconds, got '-1'"),
        (["thread", "--delay", "soon"], "--delay: not a number"),
        (["thread", "--interval", "0"], "--interval: must be from 0.001 to 1000000000 seconds, got '0'"),
        (["thread", "--work", "nap"], "invalid choice: 'nap'"),
        (["process", "--start-method", "teleport"], "'teleport' is not offered here"),
        (["asyncio", "--work", "prime", "--number", "0"], "--number: must be from 1 to 100_000_000_000_000_000_000"),
        (["primes", "--workers", "0"], "--workers: must be from 1 to 64, got '0'"),
        (["primes", "--workers", "two"], "--workers: not a whole number"),
        (["primes", "x"], "not a whole number"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_no_traceback(args, complaint, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert err.count("\n") == 1 and complaint in err and err.startswith("spinners")


def test_the_smallest_values_allowed_are_accepted(capsys):
    """The limits the errors name are inclusive: 1 is a number and a worker count, 0 s a delay,
    0.001 s an interval; 10**20 the largest number, 64 the most workers, 10**9 s the longest wait."""
    assert main(["primes", "--runner", "sequential", "1"]) == 0
    assert main(["primes", "--runner", "thread", "--workers", "1", "2"]) == 0
    assert main(["asyncio", "--work", "nap", "--number", "1", "--nap-every", "1"]) == 0
    assert main(["thread", "--delay", "0", "--interval", "0.001"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Checking 1 number sequentially:\n" + " " * 19 + "1   ")  # no P: not prime
    assert "Checking 1 number with 1 thread:\n" in out
    largest = build_parser().parse_args(["thread", "--delay", "1e9", "--interval", "1e9"])
    assert (largest.delay, largest.interval) == (1e9, 1e9)
    assert build_parser().parse_args(["primes", "--workers", "64", str(10**20)]).workers == 64
    assert "Answer: 1 is not prime\n" in out and out.endswith("Answer: 42\n")


def test_help_describes_every_unit_and_option(spinners_main):
    result = spinners_main("--help")
    assert result.returncode == 0
    for word in ("thread", "process", "interpreter", "asyncio", "primes"):
        assert word in result.stdout
    result = spinners_main("process", "--help")
    for option in ("--work", "--delay", "--number", "--message", "--interval", "--start-method"):
        assert option in result.stdout
    assert "napping" not in result.stdout and "--nap-every" not in result.stdout  # only the asyncio spinner naps
    # the defaults it states are the chapter's: 3 s of work, the chapter's number, its message, 0.1 s
    text = " ".join(result.stdout.split())
    for default in (
        "sleep (default 3)",
        "(default 5_000_111_000_222_021)",
        "(default 'thinking!')",
        "frames (default 0.1)",
    ):
        assert default in text, default
    asyncio_help = spinners_main("asyncio", "--help").stdout
    assert "check it napping" in " ".join(asyncio_help.split()) and "divisions between two naps" in asyncio_help
    # only the process spinner has a start method
    assert "--start-method" not in asyncio_help and "--start-method" not in spinners_main("thread", "--help").stdout


def test_the_console_script_is_declared():
    text = (ROOT / "pyproject.toml").read_text()
    assert 'spinners = "spinners.__main__:run"' in text


@pytest.fixture(scope="module")
def a_minute_of_checking() -> str:
    """A prime whose check takes about a minute here: far longer than a Ctrl-C may take."""
    return str(prime_taking(60))


@pytest.mark.parametrize(
    "unit, work",
    [
        ("thread", "sleep"),
        ("process", "sleep"),
        ("asyncio", "sleep"),
        ("thread", "prime"),
        ("process", "prime"),
        ("asyncio", "prime"),
        ("asyncio", "nap"),
        pytest.param("interpreter", "sleep", marks=needs("interpreters in one process")),
        pytest.param("interpreter", "prime", marks=needs("interpreters in one process")),
    ],
)
def test_ctrl_c_leaves_a_clean_line_no_orphan_and_dies_of_sigint(unit, work, a_minute_of_checking):
    """Ctrl-C at the terminal while spinning, whatever the work -- even a check that holds the
    event loop: the line is left blank, no traceback, no process of the run left behind, and the
    program dies of SIGINT (a shell reports 130 and stops a loop of commands), at once rather
    than when the work would have ended."""
    given = ["--delay", "30"] if work == "sleep" else ["--work", work, "--number", a_minute_of_checking]
    with cli_in_own_session(unit, *given, "--interval", "0.05", "--animate", "always") as child:
        assert child.stdout is not None
        # a check that holds the event loop never lets the asyncio spinner draw (SA-3)
        frozen = (unit, work) == ("asyncio", "prime")
        seen = read_until(child.stdout, b">\n" if frozen else b"thinking!", "the spinner")
        if work != "sleep":  # the check is under way: the kernel shows the main thread running
            wait_until(lambda: computing(child.pid), "the supervisor to compute")
        elif unit != "asyncio":  # a frame shows the spinner runs, not that the work has begun
            wait_for_its_sleep(child.pid)
        (out, err), took = timed(lambda: ctrl_c(child))
    output = (seen + out).decode()
    assert child.returncode == -signal.SIGINT, err
    assert err == b"", err.decode()
    if frozen:  # cancelled before it ever ran, the spinner left nothing to blank
        assert output.endswith(">\n") and not frames_in(output)
    else:
        assert output.endswith("\r" + " " * len("| thinking!") + "\r"), "the line is left blank"
    assert "Answer" not in output
    assert took < 60 / 10  # the check had a minute to go


@pytest.mark.parametrize("unit", ["thread", "process", "asyncio"])
@pytest.mark.long
def test_the_demo_on_a_real_terminal(unit):
    """The chapter's demo with its defaults -- 3 s of work, a frame every 0.1 s -- on a
    pseudo-terminal, rendered by a terminal emulator: one frame visible at a time on the second
    line, then the answer on a clean line."""
    screen = pyte.Screen(200, 6)  # wide enough for the task's long repr
    stream = pyte.ByteStream(screen)
    frames_seen = 0
    received = b""
    stamps: list[float] = []
    with Metronome(0.1) as machine, on_a_terminal(unit, columns=200) as (child, chunks):
        t0 = time.perf_counter()
        for chunk in chunks:
            stream.feed(chunk)
            received += chunk
            stamps += [time.perf_counter()] * len(frames_in(chunk.decode()))
            visible = [line for line in screen.display if "thinking!" in line]
            assert len(visible) <= 1 and (not visible or visible[0].rstrip().endswith("thinking!"))
            frames_seen += bool(visible)
        elapsed = time.perf_counter() - t0
        assert child.wait(PATIENCE) == 0
    lines = [line.rstrip() for line in screen.display]
    assert lines[0].startswith("spinner object: <")
    assert lines[1] == "Answer: 42"
    assert not any("thinking!" in line for line in lines)
    # the chapter's demo: 3 s of work, a frame every 0.1 s -- its pace read from the frames'
    # arrival times, so that neither start-up nor one stall can blur 0.1 s into 0.2 s
    assert elapsed >= 3.0
    assert frames_seen >= 10
    assert len(frames_in(received.decode())) <= elapsed / 0.1 + 2  # a wait never ends early
    pace = median_interval(stamps)
    assert pace >= AT_LEAST * 0.1
    if machine.keeps_time():  # (else the machine wakes sleepers too late to tell a pace)
        assert pace <= PACE_MARGIN * machine.pace, (pace, machine.pace)


# A minute of checks or more for two workers (over a second each), far beyond PATIENCE: a run
# that waited for its workers to finish instead of stopping them could not exit in time.
LONG_WORK = [str(max(n for n, prime in LARGE.items() if prime))] * 100


@pytest.mark.parametrize(
    "runner, whole_group, method",
    [
        ("process", True, None),
        ("process", False, None),
        ("thread", True, None),
    ],
    ids=["processes, Ctrl-C", "processes, kill -INT to the main process", "threads, Ctrl-C"],
)
def test_ctrl_c_stops_the_prime_pool_and_leaves_no_worker(runner, whole_group, method):
    """Ctrl-C while the pool's workers compute: death by SIGINT, no traceback, every worker
    gone. Worker processes leave Ctrl-C to the main process, which terminates them, whether
    the terminal's SIGINT reached them too or only it; worker threads, which nothing can stop,
    die with the program (they are daemons)."""
    started_by = ["--start-method", method] if method else []
    header = f"Checking 100 numbers with 2 {runner}{'es' if runner == 'process' else 's'}:\n".encode()
    with cli_in_own_session("primes", "--runner", runner, "--workers", "2", *started_by, *LONG_WORK) as child:
        assert child.stdout is not None
        seen = read_until(child.stdout, header, "the header")  # printed before the first worker starts
        if runner == "process":  # both workers are computing, wherever the start method put them
            wait_until(lambda: len(computing_below(child.pid)) == 2, "the workers to compute")
        else:  # the kernel lists the worker threads beside the main one
            wait_until(lambda: psutil.Process(child.pid).num_threads() >= 3, "the worker threads to start")
        out, err = ctrl_c(child, whole_group)
    assert child.returncode == -signal.SIGINT, err
    assert err == b"" and seen + out == header


@needs("interpreters in one process")
def test_ctrl_c_stops_the_pool_on_interpreters_once_their_checks_in_hand_are_done():
    """Ctrl-C while the pool's interpreters compute: death by SIGINT, no traceback, long before
    the work left could be done. An interpreter, like a thread, cannot be stopped from outside,
    and one still running at the program's exit crashes it (CPython gh-126016: SIGSEGV here,
    with daemon threads): so each finishes the check in hand, then ends at its sentinel."""
    check_s = 0.3
    numbers = [str(prime_taking(check_s))] * 100  # 15 s of work on two interpreters
    header = b"Checking 100 numbers with 2 interpreters:\n"
    with cli_in_own_session("primes", "--runner", "interpreter", "--workers", "2", *numbers) as child:
        assert child.stdout is not None
        seen = read_until(child.stdout, header, "the header")
        seen += read_until(child.stdout, b"\n", "a first verdict")  # the interpreters are at work
        (out, err), took = timed(lambda: ctrl_c(child))
    assert child.returncode == -signal.SIGINT, err
    assert err == b"", err.decode()
    assert (seen + out).startswith(header)
    assert took < 100 * check_s / 2 / 5  # the checks in hand, not the work left
