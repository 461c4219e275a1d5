"""tox plugin: also look for interpreters installed by pyenv, active or not.

On a machine where every Python is on PATH this adds nothing that tox would not
find anyway; on one where pyenv keeps them in ``$(pyenv root)/versions`` it saves
the user from activating each of them (or passing ``--discover``) by hand.
"""

from __future__ import annotations

import os
from pathlib import Path

from tox.config.sets import ConfigSet
from tox.plugin import impl
from tox.session.state import State


def pyenv_interpreters() -> list[str]:
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    return sorted(str(exe) for exe in root.glob("versions/*/bin/python3") if exe.is_file())


@impl
def tox_add_core_config(core_conf: ConfigSet, state: State) -> None:
    options = state.conf.options
    options.discover = [*getattr(options, "discover", []), *pyenv_interpreters()]
