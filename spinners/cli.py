"""Command line: ``python -m spinners UNIT [options]`` and ``python -m spinners primes``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import multiprocessing
import signal
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any, NoReturn, TypeVar

from spinners import asyncio_spinner, process_spinner, thread_spinner
from spinners.animation import INTERVAL, MESSAGE
from spinners.prime_pool import LARGE, RUNNERS, PrimeResult, run_pool, run_sequential
from spinners.work import (
    DELAY,
    NAP_EVERY,
    PRIME,
    is_prime,
    is_prime_blocking,
    is_prime_napping,
    slow,
    slow_async,
)

WORKS = {"thread": ("sleep", "prime"), "process": ("sleep", "prime"), "asyncio": ("sleep", "prime", "nap")}
R = TypeVar("R")
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it


class Parser(argparse.ArgumentParser):
    """Reports bad input in one line on stderr and exits 2, without the usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value >= 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"must be zero or more, got {text}")
    return value


def positive(text: str) -> float:
    value = non_negative(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be more than zero, got 0")
    return value


def whole(text: str) -> int:
    """A whole number of 1 or more; underscores may group its digits, as in Python (``5_000``)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {text}")
    return value


def start_method(text: str) -> str:
    offered = multiprocessing.get_all_start_methods()
    if text not in offered:
        raise argparse.ArgumentTypeError(f"{text!r} is not offered here; choose from {', '.join(offered)}")
    return text


def build_parser() -> Parser:
    parser = Parser(
        prog="spinners",
        description="Animate \\|/- while slow work runs on a thread, a process or an asyncio task.",
        epilog="Example: spinners thread --delay 2   |   spinners asyncio --work nap   |   spinners primes",
    )
    units = parser.add_subparsers(dest="unit", metavar="UNIT", required=True)
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
        sub.add_argument("--delay", type=non_negative, default=DELAY, help=f"seconds of sleep (default {DELAY:g})")
        sub.add_argument("--number", type=whole, default=PRIME, help=f"number to check (default {PRIME:_})")
        sub.add_argument("--message", default=MESSAGE, help=f"text beside the spinner (default {MESSAGE!r})")
        sub.add_argument(
            "--interval", type=positive, default=INTERVAL, help=f"seconds between frames (default {INTERVAL:g})"
        )
        if unit == "process":
            sub.add_argument(
                "--start-method",
                type=start_method,
                default=None,
                help=f"how to start the child: {', '.join(multiprocessing.get_all_start_methods())} "
                f"(default: the platform's, {multiprocessing.get_start_method()} here)",
            )
        if unit == "asyncio":
            sub.add_argument(
                "--nap-every",
                type=whole,
                default=NAP_EVERY,
                help=f"divisions between two naps with --work nap (default {NAP_EVERY})",
            )
    primes = units.add_parser(
        "primes",
        help="check numbers for primality with a homegrown pool",
        description="Check numbers for primality sequentially, or with a pool of worker processes or threads.",
    )
    primes.add_argument("numbers", nargs="*", type=whole, help="numbers to check (default: a built-in list)")
    primes.add_argument("--runner", choices=RUNNERS, default="process", help="how to run the checks (default process)")
    primes.add_argument(
        "--workers", type=whole, default=multiprocessing.cpu_count(), help="workers in the pool (default: CPU count)"
    )
    primes.add_argument("--start-method", type=start_method, default=None, help="for --runner process")
    return parser


def verdict(n: int, prime: bool) -> str:
    return f"{n} is prime" if prime else f"{n} is not prime"


async def interruptible(supervisor: Coroutine[Any, Any, R]) -> R:
    """Make Ctrl-C cancel the supervisor at its ``await`` (as ``asyncio.run`` does from 3.11 on),
    so the spinner is cancelled and blanks its line -- rather than a ``KeyboardInterrupt``
    landing in whichever task happens to be running."""
    task = asyncio.current_task()
    assert task is not None
    with contextlib.suppress(NotImplementedError):  # no loop signal handlers on Windows
        asyncio.get_running_loop().add_signal_handler(signal.SIGINT, task.cancel)
    try:
        return await supervisor
    except asyncio.CancelledError:
        raise KeyboardInterrupt from None


def run_spinner(args: argparse.Namespace) -> str:
    opts = {"msg": args.message, "interval": args.interval}
    if args.unit == "asyncio":
        coro: Callable[[], Awaitable[int | bool]]
        if args.work == "sleep":
            coro = functools.partial(slow_async, args.delay)
        elif args.work == "prime":
            coro = functools.partial(is_prime_blocking, args.number)
        else:
            coro = functools.partial(is_prime_napping, args.number, args.nap_every)
        result = asyncio.run(interruptible(asyncio_spinner.supervisor(coro, **opts)))
    else:
        work: Callable[[], int | bool]
        work = functools.partial(slow, args.delay) if args.work == "sleep" else functools.partial(is_prime, args.number)
        if args.unit == "thread":
            result = thread_spinner.supervisor(work, **opts)
        else:
            result = process_spinner.supervisor(work, **opts, start_method=args.start_method)
    return f"Answer: {result}" if args.work == "sleep" else f"Answer: {verdict(args.number, bool(result))}"


def run_primes(args: argparse.Namespace) -> str:
    numbers = args.numbers or list(LARGE)
    t0 = time.perf_counter()
    results: list[PrimeResult]
    if args.runner == "sequential":
        results = run_sequential(numbers)
        label = "sequentially"
    else:
        results = run_pool(numbers, args.workers, args.runner, args.start_method)
        label = f"with {args.workers} {args.runner}{'es' if args.runner == 'process' else 's'}"
    print(f"Checking {len(numbers)} numbers {label}:")
    for result in results:
        print(f"{result.n:20} {'P' if result.prime else ' '} {result.elapsed:9.6f}s")
    return f"Total time: {time.perf_counter() - t0:.2f}s"


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Ctrl-C raises KeyboardInterrupt even if whoever started us left SIGINT ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        last_line = run_primes(args) if args.unit == "primes" else run_spinner(args)
    except KeyboardInterrupt:  # the spinner has blanked its line on the way out
        return EXIT_INTERRUPTED
    print(last_line)
    return 0
