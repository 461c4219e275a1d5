"""The specification's measuring tools, by subject (as CPython splits ``test.support``), on top
of ``measuring``, which the runner and the benchmarks share (bounded joins, which Python this
is, CPU-bound work, cores, speed-up):

* ``waiting`` -- bounded polls and joins (``wait_until``, ``join``, ``started``), timing;
* ``processes`` -- child interpreters, the command line, pipes, Ctrl-C, what was left behind;
* ``frames`` -- a spinner's frames, when they arrived, and the metronome;
* ``cpu`` -- the probe thread, and the judging of claims about parallel work;
* ``primes`` -- primes sized by time, and Miller-Rabin;
* ``platforms`` -- what the instruments need of the OS (``@needs``, ``require``);
* ``tolerances`` -- every tolerance, named once, with its reason.

Helpers measure and return figures; the tests state the claims and assert their bounds. The
judging helpers (``judged_parallel``, ``judged_not_parallel``, ``assert_keeps_pace``) end a
test as *not demonstrable* where the machine, not Python, kept the claim from showing, and
say so with the figures; only ``assert_keeps_pace`` asserts, for the four tests of a pace.
"""
