"""The specification's measuring tools, by subject (as CPython splits ``test.support``):

* ``waiting`` -- PATIENCE, bounded polls and joins (``wait_until``, ``join``, ``started``), timing;
* ``processes`` -- child interpreters, the command line, pipes, Ctrl-C, what was left behind;
* ``frames`` -- a spinner's frames, when they arrived, and the metronome;
* ``cpu`` -- CPU-bound work sized by time, cores used and cores available, the probe thread;
* ``primes`` -- primes sized by time, and Miller-Rabin;
* ``platforms`` -- what the instruments need of the OS (``@needs``, ``require``);
* ``tolerances`` -- every tolerance, named once, with its reason.

Helpers measure and return figures; the tests state the claims.
"""
