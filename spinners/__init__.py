"""spinners: small programs that animate ``\\|/-`` while slow work runs.

Each spinner is the same idea on a different execution unit:

* :mod:`spinners.thread_spinner` -- a ``threading.Thread`` stopped by a ``threading.Event``;
* :mod:`spinners.process_spinner` -- a ``multiprocessing.Process`` stopped by a
  ``multiprocessing`` event;
* :mod:`spinners.interpreter_spinner` -- an interpreter of its own on a thread of the same
  process (``concurrent.interpreters``, 3.14 and later), stopped through an interpreters queue;
* :mod:`spinners.asyncio_spinner` -- an ``asyncio.Task`` stopped by ``Task.cancel()``.

The slow work they run beside (a sleep, or a primality check) is in
:mod:`spinners.work`, and a small pool of worker processes for the
primality check is in :mod:`spinners.prime_pool`.
"""

__version__ = "0.1.0"
