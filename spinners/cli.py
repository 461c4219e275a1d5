"""Command line: ``spinners UNIT [options]`` (or ``python -m spinners``) and ``spinners primes``.

Each unit's code is imported when that unit runs: ``spinners thread`` never imports asyncio.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import multiprocessing
import os
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, NoReturn, TextIO, TypeVar, cast

from spinners import __version__
from spinners.animation import INTERVAL, MESSAGE, width
from spinners.prime_pool import LARGE, RUNNERS, PrimeResult, WorkerDied, run_pool, run_sequential
from spinners.work import DELAY, NAP_EVERY, PRIME, is_prime, slow

R = TypeVar("R")
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a Ctrl-C
EXIT_FAILED = 1
WORKS = {"thread": ("sleep", "prime"), "process": ("sleep", "prime"), "asyncio": ("sleep", "prime", "nap")}
LONGEST_WAIT = min(threading.TIMEOUT_MAX, 1e9)  # seconds: 31 years, or less where the timers take less
SHORTEST_INTERVAL = 0.001  # seconds between frames: faster only floods the terminal
LARGEST_NUMBER = 10**20  # checking a larger prime by trial division would take hours
MOST_WORKERS = 64
EXAMPLES = """examples:
  spinners thread                       3 s of \\|/- on a thread, then the answer
  spinners process --start-method spawn the spinner in a child process
  spinners asyncio --work nap           is_prime in the event loop, napping so the spinner can draw
  spinners thread --work prime --number 5_000_111_000_222_021
  spinners primes --workers 2           the chapter's numbers, checked by a pool of 2 processes"""


class Parser(argparse.ArgumentParser):
    """Reports bad input in one line on stderr and exits 2, without the usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"spinners: error: {message} (see --help)\n")


def shown(text: str) -> str:
    """``text`` quoted for an error message, cut short if it is long."""
    return repr(text) if len(text) <= 24 else f"{text[:20]!r}... ({len(text)} characters)"


def seconds_between(low: float, high: float) -> Callable[[str], float]:
    def seconds(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {shown(text)}") from None
        if not low <= value <= high:  # also refuses nan and inf
            raise argparse.ArgumentTypeError(f"must be from {low:g} to {high:.0f} seconds, got {shown(text)}")
        return value

    return seconds


def whole_up_to(high: int) -> Callable[[str], int]:
    """A whole number from 1 to ``high``; underscores may group its digits, as in Python (``5_000``)."""

    def whole(text: str) -> int:
        digits = text.strip().lstrip("+").replace("_", "")
        if digits.isdigit() and len(digits) > 24:  # too long to echo (or for int() past 4300 digits)
            raise argparse.ArgumentTypeError(f"must be from 1 to {high:_}, got a number of {len(digits)} digits")
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {shown(text)}") from None
        if not 1 <= value <= high:
            raise argparse.ArgumentTypeError(f"must be from 1 to {high:_}, got {shown(text)}")
        return value

    return whole


def start_method(text: str) -> str:
    offered = multiprocessing.get_all_start_methods()
    if text not in offered:
        raise argparse.ArgumentTypeError(f"{shown(text)} is not offered here; choose from {', '.join(offered)}")
    return text


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity), not the machine's count."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def build_parser() -> Parser:
    parser = Parser(
        prog="spinners",
        description="Animate \\|/- while slow work runs on a thread, a process or an asyncio task.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"spinners {__version__}")
    units = parser.add_subparsers(dest="unit", metavar="UNIT", required=True)
    methods = ", ".join(multiprocessing.get_all_start_methods())
    for unit, help_text in (
        ("thread", "the spinner runs on a thread; the main thread does the work"),
        ("process", "the spinner runs in a child process; the parent does the work"),
        ("asyncio", "the spinner is an asyncio task; the supervisor coroutine does the work"),
    ):
        sub = units.add_parser(unit, help=help_text, description=help_text)
        sub.add_argument(
            "--work",
            choices=WORKS[unit],
            default="sleep",
            help="sleep for --delay seconds and answer 42 (default), check --number for primality"
            + (", or check it napping every --nap-every divisions" if unit == "asyncio" else ""),
        )
        sub.add_argument("--delay", type=seconds_between(0, LONGEST_WAIT), help=f"seconds of sleep (default {DELAY:g})")
        sub.add_argument("--number", type=whole_up_to(LARGEST_NUMBER), help=f"number to check (default {PRIME:_})")
        sub.add_argument("--message", default=MESSAGE, help=f"text beside the spinner (default {MESSAGE!r})")
        sub.add_argument(
            "--interval",
            type=seconds_between(SHORTEST_INTERVAL, LONGEST_WAIT),
            default=INTERVAL,
            help=f"seconds between frames (default {INTERVAL:g})",
        )
        sub.add_argument(
            "--animate",
            choices=("auto", "always", "never"),
            default="auto",
            help="draw the frames: on a terminal only (auto, the default), always, or never",
        )
        # Every unit knows every option, so that one given where it does not apply is refused
        # by name (see check_applies) rather than ignored; each is shown where it applies.
        sub.add_argument(
            "--start-method",
            type=start_method,
            help=f"how to start the child: {methods} (default: the platform's)"
            if unit == "process"
            else argparse.SUPPRESS,
        )
        sub.add_argument(
            "--nap-every",
            type=whole_up_to(sys.maxsize),
            help=f"divisions between two naps with --work nap (default {NAP_EVERY})"
            if unit == "asyncio"
            else argparse.SUPPRESS,
        )
    primes = units.add_parser(
        "primes",
        help="check numbers for primality with a homegrown pool",
        description="Check numbers for primality sequentially, or with a pool of worker processes or threads.",
    )
    primes.add_argument(
        "numbers", nargs="*", type=whole_up_to(LARGEST_NUMBER), help="numbers to check (default: a built-in list)"
    )
    primes.add_argument("--runner", choices=RUNNERS, default="process", help="how to run the checks (default process)")
    primes.add_argument(
        "--workers",
        type=whole_up_to(MOST_WORKERS),
        help=f"workers in the pool, at most {MOST_WORKERS} (default: the CPUs this process may use)",
    )
    primes.add_argument(
        "--start-method", type=start_method, help=f"for --runner process: {methods} (default: the platform's)"
    )
    return parser


def check_applies(parser: Parser, args: argparse.Namespace) -> None:
    """Refuse an option given where it does not apply, naming the units or work that take it."""
    if args.unit == "primes":
        if args.start_method is not None and args.runner != "process":
            parser.error("--start-method: only --runner process takes it")
        if args.workers is not None and args.runner == "sequential":
            parser.error("--workers: --runner sequential has no workers")
        return
    if args.start_method is not None and args.unit != "process":
        parser.error(f"--start-method: the {args.unit} spinner has no child to start; only 'process' takes it")
    if args.nap_every is not None and (args.unit, args.work) != ("asyncio", "nap"):
        parser.error("--nap-every: only 'asyncio --work nap' takes it")
    if args.number is not None and args.work == "sleep":
        parser.error("--number: only --work prime (or nap) checks a number")
    if args.delay is not None and args.work != "sleep":
        parser.error("--delay: only --work sleep sleeps")


def fit(message: str, columns: int) -> str:
    """``message`` cut to leave a frame (``"| "``) and the cursor within ``columns`` columns."""
    room = max(1, columns - 3)
    if width(message) <= room:
        return message
    while width(message + "…") > room:
        message = message[:-1]
    return message + "…"


class QuietPipe:
    """Standard output that goes quiet once its reader has gone (``spinners thread | head -c 20``).

    As the Python documentation advises for a closed pipe: the first write that finds it closed
    sends the rest to /dev/null, so nothing fails again at exit, and the program then ends with
    no traceback."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.closed_pipe = False

    def write(self, text: str) -> int:
        try:
            return self.stream.write(text)
        except BrokenPipeError:
            self._to_devnull()
            return len(text)

    def flush(self) -> None:
        try:
            self.stream.flush()
        except BrokenPipeError:
            self._to_devnull()

    def _to_devnull(self) -> None:
        self.closed_pipe = True
        with contextlib.suppress(OSError, ValueError):  # a stream with no file behind it
            os.dup2(os.open(os.devnull, os.O_WRONLY), self.stream.fileno())

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


def verdict(n: int, prime: bool) -> str:
    return f"{n} is prime" if prime else f"{n} is not prime"


class Interrupted:
    """What :func:`interruptible` returns when a Ctrl-C stopped the supervisor."""


async def interruptible(supervisor: Coroutine[Any, Any, R]) -> R | Interrupted:
    """Run ``supervisor`` so that Ctrl-C stops it cleanly whatever the event loop is doing.

    When the supervisor's own code is running -- a check that never awaits holds the loop --
    the ``KeyboardInterrupt`` is raised right there, and the supervisor's ``finally`` stops the
    spinner. When the loop is waiting, or running the spinner's step, the supervisor is
    cancelled at its ``await`` instead: an interrupt inside the spinner's step would kill it
    before it could blank its line. Either way the task ends here, returning ``Interrupted()``:
    a ``KeyboardInterrupt`` left as the task's outcome would be reported by asyncio when the
    task is collected ("Task exception was never retrieved")."""
    import asyncio

    loop = asyncio.get_running_loop()
    me = asyncio.current_task()
    assert me is not None

    def on_ctrl_c(signum: int, frame: object) -> None:
        if asyncio.current_task(loop) is me:
            raise KeyboardInterrupt
        loop.call_soon_threadsafe(me.cancel)

    previous = signal.signal(signal.SIGINT, on_ctrl_c)
    try:
        return await supervisor
    except (KeyboardInterrupt, asyncio.CancelledError):
        return Interrupted()
    finally:
        signal.signal(signal.SIGINT, previous)


def run_spinner(args: argparse.Namespace, out: TextIO) -> str:
    number = PRIME if args.number is None else args.number
    delay = DELAY if args.delay is None else args.delay
    animate = args.animate == "always" or (args.animate == "auto" and out.isatty())
    columns = shutil.get_terminal_size().columns if out.isatty() else 0  # 0: not known (3.10 says so)
    message = fit(args.message, columns) if columns > 0 else args.message
    opts = {"msg": message, "interval": args.interval}
    result: int | bool
    if args.unit == "asyncio":
        import asyncio

        from spinners import asyncio_spinner

        nap_every = NAP_EVERY if args.nap_every is None else args.nap_every
        coroutine: Callable[[], Coroutine[Any, Any, int | bool]]
        if args.work == "sleep":
            coroutine = functools.partial(asyncio_spinner.slow_async, delay)
        elif args.work == "prime":
            coroutine = functools.partial(asyncio_spinner.is_prime_blocking, number)
        else:
            coroutine = functools.partial(asyncio_spinner.is_prime_napping, number, nap_every)
        supervised = asyncio_spinner.supervisor(coroutine, **opts, out=out) if animate else coroutine()
        outcome = asyncio.run(interruptible(supervised))
        if isinstance(outcome, Interrupted):
            raise KeyboardInterrupt
        result = outcome
    else:
        work = functools.partial(slow, delay) if args.work == "sleep" else functools.partial(is_prime, number)
        if not animate:
            result = work()
        elif args.unit == "thread":
            from spinners import thread_spinner

            result = thread_spinner.supervisor(work, **opts, out=out)
        else:
            from spinners import process_spinner

            result = process_spinner.supervisor(work, **opts, start_method=args.start_method)
    return f"Answer: {result}" if args.work == "sleep" else f"Answer: {verdict(number, bool(result))}"


def run_primes(args: argparse.Namespace, out: TextIO) -> str:
    numbers = args.numbers or list(LARGE)
    workers = min(MOST_WORKERS, usable_cpus()) if args.workers is None else args.workers
    label = "sequentially"
    if args.runner != "sequential":
        plural = {"process": "processes", "thread": "threads"}[args.runner]
        label = f"with {workers} {args.runner if workers == 1 else plural}"
    print(f"Checking {len(numbers)} number{'s' if len(numbers) != 1 else ''} {label}:", file=out, flush=True)

    def report(result: PrimeResult) -> None:
        print(f"{result.n:20} {'P' if result.prime else ' '} {result.elapsed:9.6f}s", file=out, flush=True)

    t0 = time.perf_counter()
    if args.runner == "sequential":
        results = run_sequential(numbers, on_result=report)
    else:
        results = run_pool(numbers, workers, args.runner, args.start_method, on_result=report)
    primes = sum(result.prime for result in results)
    print(f"{primes} of {len(results)} prime", file=out)
    return f"Total time: {time.perf_counter() - t0:.2f}s"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return its exit status (130 after a Ctrl-C, which the program's
    entry point, :func:`spinners.__main__.run`, turns into death by SIGINT)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    check_applies(parser, args)
    # Ctrl-C raises KeyboardInterrupt even if whoever started us left SIGINT ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    out = QuietPipe(sys.stdout)
    stdout, sys.stdout = sys.stdout, cast(TextIO, out)  # the process spinner prints there too
    try:
        try:
            last_line = run_primes(args, sys.stdout) if args.unit == "primes" else run_spinner(args, sys.stdout)
        except KeyboardInterrupt:  # the spinner has blanked its line on the way out
            return EXIT_INTERRUPTED
        except WorkerDied as error:  # one line, no traceback; the pool has stopped the others
            print(f"spinners: error: {error}", file=sys.stderr)
            return EXIT_FAILED
        print(last_line, file=sys.stdout)
        sys.stdout.flush()
    finally:
        sys.stdout = stdout
    return EXIT_FAILED if out.closed_pipe else 0
