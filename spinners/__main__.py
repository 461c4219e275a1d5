"""``python -m spinners``: see :mod:`spinners.cli`."""

import sys

from spinners.cli import main

if __name__ == "__main__":
    sys.exit(main())
