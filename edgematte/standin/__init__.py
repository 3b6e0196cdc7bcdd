"""A CPU stand-in for the HiLens Kit's ``hilens`` module, so a skill's ``main.py`` runs unchanged on a laptop.

The module lives in this folder as ``hilens.py`` and is imported under its device name::

    from edgematte.standin import load_hilens
    hilens = load_hilens()          # the same object ``import hilens`` gives the skill
    hilens.configure(StandinSession(...))
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

FOLDER = Path(__file__).parent


def load_hilens():
    if str(FOLDER) not in sys.path:
        sys.path.insert(0, str(FOLDER))
    return importlib.import_module("hilens")
