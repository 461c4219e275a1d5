"""``python -m spinners``: see :mod:`spinners.cli`."""

import sys

from spinners.cli import main

sys.exit(main())
