"""Primes sized by the time their check takes here, and an independent primality test."""

from __future__ import annotations

from tests.support.waiting import timed


def miller_rabin(n: int) -> bool:
    """A primality test independent of the package's trial division, deterministic below 3.3e24."""
    if n < 2:
        return False
    bases = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41)
    if n in bases:
        return True
    if any(n % p == 0 for p in bases):
        return False
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for a in bases:
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


def prime_taking(seconds: float) -> int:
    """A prime whose check by trial division lasts about ``seconds`` on this machine, now.

    Trial division of a prime ``n`` tries every odd number up to its square root, so its cost
    grows with sqrt(n): time it on a small prime, scale, and take the next prime above (found
    with Miller-Rabin, so that the primality check under test is not its own judge)."""
    from spinners.work import is_prime  # the workload; its verdicts are checked elsewhere (IMP-4)

    small = 1_000_000_007  # about 16 000 divisions
    took = min(timed(lambda: is_prime(small))[1] for _ in range(3))
    n = max(3, int(small * (seconds / took) ** 2))  # (below it too: checks of microseconds)
    if n >= LARGEST_TAKEN:  # (PyPy's JIT divides so fast that a minute needs more digits)
        return largest_prime_below(LARGEST_TAKEN)
    n += 1 - n % 2
    while not miller_rabin(n):
        n += 2
    return n


# The command line takes numbers up to 10**20 (written here as its help states it): past the
# 64-bit integers, where each division is slower, and more than a minute's checking anywhere.
LARGEST_TAKEN = 10**20


def largest_prime_below(limit: int) -> int:
    n = limit - 1 - limit % 2
    while not miller_rabin(n):
        n -= 2
    return n
