"""Command line: ``spinners UNIT [options]`` (or ``python -m spinners``) and ``spinners primes``.

Each unit's code is imported when that unit runs: ``spinners thread`` never imports asyncio.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import importlib.util
import multiprocessing
import os
import platform
import select
import shutil
import signal
import stat
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Generator, Iterable, Iterator, Sequence
from types import FrameType
from typing import Any, NoReturn, TextIO, TypeVar, cast

from spinners import __version__
from spinners.animation import INTERVAL, MESSAGE, SpinnerDied, width
from spinners.interrupts import ENDING, Ended, ctrl_c_held, end_on_every_signal, signal_of
from spinners.prime_pool import LARGE, RUNNERS, PrimeResult, WorkerDied, check, pool_results
from spinners.work import DELAY, NAP_EVERY, PRIME, is_prime, slow

R = TypeVar("R")
EXIT_FAILED = 1
WORKS = {
    "thread": ("sleep", "prime"),
    "process": ("sleep", "prime"),
    "interpreter": ("sleep", "prime"),
    "asyncio": ("sleep", "prime", "nap"),
}
LONGEST_WAIT = min(threading.TIMEOUT_MAX, 1e9)  # seconds: 31 years, or less where the timers take less
SHORTEST_INTERVAL = 0.001  # seconds between frames: faster only floods the terminal
LARGEST_NUMBER = 10**20  # checking a larger prime by trial division would take hours
MOST_WORKERS = 64
SPINNER_OPTIONS = ("--work", "--delay", "--number", "--message", "--interval", "--animate", "--nap-every")
LONGEST_WORD = 100  # characters: a word on standard input this long is refused, not read on
EXAMPLES = """examples:
  spinners thread                       3 s of \\|/- on a thread, then the answer
  spinners process --start-method spawn the spinner in a child process
  spinners interpreter                  the spinner in another interpreter of this process (3.14+)
  spinners asyncio --work nap           is_prime in the event loop, napping so the spinner can draw
  spinners thread --work prime --number 5_000_111_000_222_021
  spinners primes --workers 2           the built-in numbers, checked by a pool of 2 processes
  spinners primes - < numbers.txt      the numbers in a file (or a pipe), any number of them
  spinners primes --runner interpreter  the pool's workers as interpreters of this process (3.14+)"""


class Parser(argparse.ArgumentParser):
    """Reports bad input in one line on stderr and exits 2, without the usage block; and takes
    options by their whole names only (``--work`` is not ``--workers``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["allow_abbrev"] = False
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"spinners: error: {message} (see --help)\n")


class BadInput(Exception):
    """A number on standard input that is not one: the same one line as a bad argument."""


def shown(text: str) -> str:
    """``text`` quoted for an error message, cut short if it is long."""
    return repr(text) if len(text) <= 24 else f"{text[:20]!r}... ({len(text)} characters)"


def seconds_between(low: float, high: float) -> Callable[[str], float]:
    def seconds(text: str) -> float:
        try:
            if not text.isascii():  # float() takes other scripts' digits (full-width digits, say)
                raise ValueError
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
        if not text.isascii():  # int() takes other scripts' digits (full-width digits, say)
            raise argparse.ArgumentTypeError(f"not a whole number: {shown(text)}")
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


def printable(text: str) -> str:
    """``text`` with its control characters shown escaped (a newline as ``\\n``, an escape as
    ``\\x1b``): written raw, they would move the cursor or colour the terminal, and the next
    frame would no longer overwrite this one."""
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


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
        description="Animate \\|/- while slow work runs on a thread, a process, an interpreter or an asyncio task.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"spinners {__version__}")
    units = parser.add_subparsers(dest="unit", metavar="UNIT", required=True)
    methods = ", ".join(multiprocessing.get_all_start_methods())
    for unit, help_text in (
        ("thread", "the spinner runs on a thread; the main thread does the work"),
        ("process", "the spinner runs in a child process; the parent does the work"),
        ("interpreter", "the spinner runs in another interpreter of this process (3.14+); the main one does the work"),
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
        "numbers",
        nargs="*",
        type=number_or_stdin,
        help="numbers to check; '-', or none with standard input not a terminal: read them from "
        f"standard input, any number (default: a built-in list of {len(LARGE)} numbers up to 10**16, "
        "tens of seconds of work on one core)",
    )
    primes.add_argument(
        "--runner",
        choices=RUNNERS,
        default="process",
        help="how to run the checks (default process; interpreter: 3.14 and later)",
    )
    primes.add_argument(
        "--workers",
        type=whole_up_to(MOST_WORKERS),
        help=f"workers in the pool, at most {MOST_WORKERS} (default: the CPUs this process may use)",
    )
    primes.add_argument(
        "--start-method", type=start_method, help=f"for --runner process: {methods} (default: the platform's)"
    )
    # The spinners' options, hidden: given here, each is refused by name (check_applies), not
    # taken for a number.
    for option in SPINNER_OPTIONS:
        primes.add_argument(option, help=argparse.SUPPRESS)
    return parser


def number_or_stdin(text: str) -> int | str:
    return text if text == "-" else whole_up_to(LARGEST_NUMBER)(text)


def check_applies(parser: Parser, args: argparse.Namespace) -> None:
    """Refuse an option given where it does not apply, naming the units or work that take it."""
    if args.unit == "primes":
        for option in SPINNER_OPTIONS:
            if getattr(args, option[2:].replace("-", "_")) is not None:
                parser.error(f"{option}: only the spinners (thread, process, interpreter, asyncio) take it, not primes")
        if args.start_method is not None and args.runner != "process":
            parser.error("--start-method: only --runner process takes it")
        if args.workers is not None and args.runner == "sequential":
            parser.error("--workers: --runner sequential has no workers")
        if args.runner == "interpreter" and not has_interpreters():
            parser.error(f"--runner interpreter: {needs_interpreters()}")
        return
    if args.unit == "interpreter" and not has_interpreters():
        parser.error(f"interpreter: {needs_interpreters()}")
    if args.start_method is not None and args.unit != "process":
        parser.error(f"--start-method: the {args.unit} spinner has no child to start; only 'process' takes it")
    if args.nap_every is not None and (args.unit, args.work) != ("asyncio", "nap"):
        parser.error("--nap-every: only 'asyncio --work nap' takes it")
    if args.number is not None and args.work == "sleep":
        parser.error("--number: only --work prime (or nap) checks a number")
    if args.delay is not None and args.work != "sleep":
        parser.error("--delay: only --work sleep sleeps")


def needs_interpreters() -> str:
    running = f"{platform.python_implementation()} {sys.version_info.major}.{sys.version_info.minor}"
    return f"needs Python 3.14 or later (concurrent.interpreters); this is {running}"


def has_interpreters() -> bool:
    """This Python can run interpreters of its own: it has ``concurrent.interpreters`` (CPython
    3.14 and later; not PyPy)."""
    return importlib.util.find_spec("concurrent.interpreters") is not None


def fit(message: str, columns: int, ellipsis: str = "…") -> str:
    """``message`` cut to leave a frame (``"| "``) and the cursor's column free within
    ``columns`` columns: the cursor in the last column would wrap onto a new line at the next
    write on some terminals. Too narrow for any of it: no message."""
    room = columns - 3
    if width(message) <= room:
        return message
    if room < width(ellipsis) + 1:
        return ""
    while width(message + ellipsis) > room:
        message = message[:-1]
    return message + ellipsis


def encodable(text: str, stream: TextIO) -> bool:
    try:
        text.encode(getattr(stream, "encoding", None) or "utf-8")
    except UnicodeEncodeError:
        return False
    return True


class OutputFailed(Exception):
    """Standard output failed (its reader gone, the disk full): the work is stopped."""


class QuietPipe:
    """Standard output that goes quiet once writing to it fails: a pipe whose reader has gone
    (``spinners thread | head -c 20``), a full disk (``> /dev/full``).

    As the Python documentation advises for a closed pipe: the first write that fails sends the
    rest to /dev/null, so nothing fails again at exit. The error is kept, for the program to end
    with one line (none for a closed pipe: its reader chose to go) and exit status 1."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.error: OSError | None = None
        self.reader_gone = False  # seen by stop_when_the_reader_goes, before any write failed
        self.finished = False  # the program's work is over: a reader that goes now stops nothing

    @property
    def closed_pipe(self) -> bool:
        return isinstance(self.error, BrokenPipeError)

    def write(self, text: str) -> int:
        try:
            return self.stream.write(text)
        except OSError as error:
            self.to_devnull(error)
            return len(text)

    def flush(self) -> None:
        try:
            self.stream.flush()
        except OSError as error:
            self.to_devnull(error)

    def to_devnull(self, error: OSError) -> None:
        """Keep ``error`` (the first only) and send what comes next to /dev/null."""
        if self.error is None:
            self.error = error
        with contextlib.suppress(OSError, ValueError):  # a stream with no file behind it
            devnull = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(devnull, self.stream.fileno())
            finally:
                os.close(devnull)  # the stream's descriptor now points there; this one is spare

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


def stop_when_the_reader_goes(out: QuietPipe) -> None:
    """Stop the work as soon as a pipe's reader has gone (``spinners primes | head -1``), not at
    the next write, which may be seconds away: ``yes | head -1`` stops at once too.

    A watcher thread waits for the error the kernel reports on a pipe with no reader left, then
    interrupts the main thread with SIGINT, so that the work stops as after a Ctrl-C, its
    children with it, wherever it waits. The program then ends as for any closed pipe. (Only
    for a pipe, where ``select.poll`` can tell: a terminal or a file has no reader to lose.)"""
    try:
        fd = out.fileno()
        is_pipe = stat.S_ISFIFO(os.fstat(fd).st_mode)
    except (OSError, ValueError, AttributeError):  # a stream with no file behind it
        return
    if not is_pipe or not hasattr(select, "poll") or not hasattr(signal, "pthread_kill"):
        return
    main_thread = threading.get_ident()
    # The pipe itself, on a descriptor of the watcher's own: the first write that fails puts
    # /dev/null on ``fd`` (QuietPipe.to_devnull), and a poll of ``fd`` -- which looks the
    # number up again when woken -- would then wait on /dev/null for ever.
    try:
        pipe = os.dup(fd)
    except OSError:  # no descriptor to spare: the work stops at its next write instead
        return

    def watch() -> None:
        poller = select.poll()
        poller.register(pipe, 0)  # no events asked: poll still reports the pipe's error
        poller.poll()
        os.close(pipe)
        if out.finished:  # the work is over: the program ends as it is
            return
        out.reader_gone = True
        out.to_devnull(BrokenPipeError())  # what is still buffered goes nowhere, quietly, at exit
        signal.pthread_kill(main_thread, signal.SIGINT)

    with ctrl_c_held():  # born with the ending signals held, it leaves them to the main thread,
        threading.Thread(target=watch, name="reader watcher", daemon=True).start()  # which may hold them


def verdict(n: int, prime: bool) -> str:
    return f"{n} is prime" if prime else f"{n} is not prime"


class Interrupted:
    """What :func:`interruptible` returns when an ending signal stopped the supervisor."""

    def __init__(self, interrupt: KeyboardInterrupt) -> None:
        self.interrupt = interrupt


async def interruptible(supervisor: Coroutine[Any, Any, R]) -> R | Interrupted:
    """Run ``supervisor`` so that Ctrl-C (or SIGTERM, SIGHUP) stops it cleanly whatever the
    event loop is doing.

    When the supervisor's own code is running -- a check that never awaits holds the loop --
    the ``KeyboardInterrupt`` is raised right there, and the supervisor's ``finally`` stops the
    spinner. When the loop is waiting, or running the spinner's step, the supervisor is
    cancelled at its ``await`` instead: an interrupt inside the spinner's step would kill it
    before it could blank its line. Either way the task ends here, returning ``Interrupted``:
    a ``KeyboardInterrupt`` left as the task's outcome would be reported by asyncio when the
    task is collected ("Task exception was never retrieved")."""
    import asyncio

    loop = asyncio.get_running_loop()
    me = asyncio.current_task()
    assert me is not None
    came: list[KeyboardInterrupt] = []

    asyncio_code = os.path.dirname(asyncio.__file__)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        interrupt = KeyboardInterrupt() if signum == signal.SIGINT else Ended(signum)
        # In the supervisor's own code, not in asyncio's: where the task's step is Python code
        # (PyPy), an interrupt raised in its bookkeeping would become the task's outcome.
        in_asyncio = frame is not None and frame.f_code.co_filename.startswith(asyncio_code)
        if asyncio.current_task(loop) is me and not in_asyncio:
            raise interrupt
        came.append(interrupt)
        loop.call_soon_threadsafe(me.cancel)

    previous = {signum: signal.signal(signum, on_signal) for signum in ENDING}
    try:
        return await supervisor
    except KeyboardInterrupt as interrupt:
        return Interrupted(interrupt)
    except asyncio.CancelledError:
        return Interrupted(came[0] if came else KeyboardInterrupt())
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def number_to_check(args: argparse.Namespace) -> int:
    return PRIME if args.number is None else args.number


def run_spinner(args: argparse.Namespace, out: TextIO) -> str:
    number = number_to_check(args)
    delay = DELAY if args.delay is None else args.delay
    animate = args.animate == "always" or (args.animate == "auto" and out.isatty())
    columns = shutil.get_terminal_size().columns if out.isatty() else 0  # 0: not known (3.10 says so)
    message = printable(args.message)
    if columns > 0:
        message = fit(message, columns, "…" if encodable("…", out) else "...")
    if animate and not encodable(message, out):
        encoding = getattr(out, "encoding", None)
        raise BadInput(f"argument --message: cannot be written in this output's encoding ({encoding})")
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
            raise outcome.interrupt
        result = outcome
    else:
        work = functools.partial(slow, delay) if args.work == "sleep" else functools.partial(is_prime, number)
        if not animate:
            result = work()
        elif args.unit == "thread":
            from spinners import thread_spinner

            result = thread_spinner.supervisor(work, **opts, out=out)
        elif args.unit == "interpreter":  # pragma: no cover  (3.14 and later: see .coveragerc)
            from spinners import interpreter_spinner

            result = interpreter_spinner.supervisor(work, **opts)
        else:
            from spinners import process_spinner

            result = process_spinner.supervisor(work, **opts, start_method=args.start_method)
    return answer_line(args, result)


def answer_line(args: argparse.Namespace, result: object) -> str:
    return f"Answer: {result}" if args.work == "sleep" else f"Answer: {verdict(number_to_check(args), bool(result))}"


def read_numbers(stream: TextIO) -> Iterator[int]:
    """The whole numbers in ``stream``, separated by any white space, read a block at a time:
    any number of them in bounded memory."""
    rest = ""
    while block := stream.read(1 << 16):
        words = (rest + block).split()
        rest = words.pop() if words and not block[-1].isspace() else ""  # it may go on in the next block
        if len(rest) > LONGEST_WORD:  # no number is that long: refused now, not at its end
            words.append(rest)
            rest = ""
        yield from whole_numbers(words)
    yield from whole_numbers([rest] if rest else [])


def whole_numbers(words: Iterable[str]) -> Iterator[int]:
    whole = whole_up_to(LARGEST_NUMBER)
    for word in words:
        try:
            yield whole(word)
        except argparse.ArgumentTypeError as error:
            raise BadInput(f"standard input: {error}") from None


def numbers_to_check(given: Sequence[int | str], stdin: TextIO | None) -> tuple[Iterable[int], int | None]:
    """The numbers to check and how many there are (None: not known until read): those given,
    with standard input read where a ``-`` stands; none given, standard input when it is not a
    terminal (as ``factor`` does), else the built-in list."""
    if not given:
        if stdin is None or stdin.isatty():
            return list(LARGE), len(LARGE)
        given = ["-"]
    if "-" not in given:
        return [int(n) for n in given], len(given)

    def numbers() -> Iterator[int]:
        for item in given:
            if item == "-":
                if stdin is not None:
                    yield from read_numbers(stdin)
            else:
                yield int(item)

    return numbers(), None


def run_primes(args: argparse.Namespace, out: QuietPipe) -> str:
    numbers, count = numbers_to_check(args.numbers, sys.stdin)
    workers = min(MOST_WORKERS, usable_cpus()) if args.workers is None else args.workers
    label = "sequentially"
    if args.runner != "sequential":
        plural = {"process": "processes", "thread": "threads", "interpreter": "interpreters"}[args.runner]
        label = f"with {workers} {args.runner if workers == 1 else plural}"
    what = "numbers from standard input" if count is None else f"{count} number{'s' if count != 1 else ''}"
    print(f"Checking {what} {label}:", file=out, flush=True)
    t0 = time.perf_counter()
    checked = primes = 0
    if args.runner == "sequential":
        results: Generator[PrimeResult, None, None] = (check(n) for n in numbers)
    else:
        results = pool_results(numbers, workers, args.runner, args.start_method)
    with contextlib.closing(results):  # leaving early stops the pool's workers
        for result in results:
            print(f"{result.n:20} {'P' if result.prime else ' '} {result.elapsed:9.6f}s", file=out, flush=True)
            if out.error is not None:  # its reader has gone, or the disk is full: stop the work
                raise OutputFailed
            checked += 1
            primes += result.prime
    print(f"{primes} of {checked} prime", file=out)
    return f"Total time: {time.perf_counter() - t0:.2f}s"


def with_values_glued(argv: Sequence[str], parser: Parser) -> list[str]:
    """``argv`` ready for argparse, which would otherwise name the wrong thing in its error:

    * ``--delay -inf`` becomes ``--delay=-inf``: argparse takes a value that starts with ``-``
      and is not a plain negative number (``-inf``, ``-1e3``, ``-x``) for an option of its own,
      and would complain that ``--delay`` has no value rather than say what is wrong with it;
    * an option no unit knows (``--run thread``) is refused by its name, before argparse takes
      the word after it for a number to check."""
    actions = list(_all_actions(parser))
    options = {option for action in actions for option in action.option_strings}
    taking = {option for action in actions if action.nargs is None for option in action.option_strings}
    glued: list[str] = []
    for word in argv:
        if glued and glued[-1] in taking and word.startswith("-") and word not in options:
            glued[-1] = f"{glued[-1]}={word}"
            continue
        if word.startswith("--") and word != "--" and word.split("=", 1)[0] not in options:
            parser.error(f"unrecognized option: {shown(word)}")
        glued.append(word)
    return glued


def _all_actions(parser: argparse.ArgumentParser) -> Iterator[argparse.Action]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _all_actions(sub)
        elif action.option_strings:
            yield action


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return its exit status (130 after a Ctrl-C, 143 after SIGTERM, 129
    after SIGHUP, which the program's entry point, :func:`spinners.__main__.run`, turns into
    death by that signal)."""
    parser = build_parser()
    args = parser.parse_args(with_values_glued(sys.argv[1:] if argv is None else argv, parser))
    check_applies(parser, args)
    if sys.stdout is None:  # started with its standard output closed (``spinners thread >&-``)
        if sys.stderr is not None:
            print("spinners: error: standard output is closed", file=sys.stderr)
        return EXIT_FAILED
    end_on_every_signal()
    out = QuietPipe(sys.stdout)
    stop_when_the_reader_goes(out)
    stdout, sys.stdout = sys.stdout, cast(TextIO, out)  # the process spinner prints there too
    try:
        try:
            last_line = run_primes(args, out) if args.unit == "primes" else run_spinner(args, cast(TextIO, out))
        except KeyboardInterrupt as interrupt:  # the spinner has blanked its line on the way out
            if out.reader_gone:  # (the watcher's SIGINT) quiet, as for any closed pipe
                return EXIT_FAILED
            return 128 + signal_of(interrupt)
        except BadInput as error:
            print(f"spinners: error: {error}", file=sys.stderr)
            return 2
        except (WorkerDied, SpinnerDied) as error:  # one line, no traceback; the pool has stopped the others
            if isinstance(error, SpinnerDied):  # the work itself ended: its answer first
                print(answer_line(args, error.answer), file=out)
            print(f"spinners: error: {error}", file=sys.stderr)
            return EXIT_FAILED
        except OutputFailed:
            last_line = ""
        if last_line:
            print(last_line, file=out)
        out.flush()
    finally:
        out.finished = True
        sys.stdout = stdout
    if out.error is not None and not out.closed_pipe:
        print(f"spinners: write error: {out.error.strerror or out.error}", file=sys.stderr)
    return EXIT_FAILED if out.error is not None or out.reader_gone else 0
