"""A CPU stand-in for the HiLens Kit's ``hilens`` module, so a skill's ``main.py`` runs unchanged on a laptop.

The module lives in this folder as ``hilens.py`` and is imported under its device name. There is one way
to open a bundle in it, used by ``edgematte run``, ``eval --bundle`` and bench's loop::

    from edgematte.standin import start, run_skill
    hilens = start(Bundle.open("out/hilens"), source="clip.mp4", output=Path("out.mp4"))
    stopped = run_skill(hilens)       # the bundle's own skill file, as the device runs it
"""

from __future__ import annotations

import importlib
import runpy
import sys
from pathlib import Path

FOLDER = Path(__file__).parent


def load_hilens():
    if str(FOLDER) not in sys.path:
        sys.path.insert(0, str(FOLDER))
    return importlib.import_module("hilens")


def start(bundle, source: str | int = "none", **session):
    """The ``hilens`` module (the same object ``import hilens`` gives the skill), configured to run
    ``bundle`` (an :class:`edgematte.bundle.Bundle`); ``session``: the other
    :class:`StandinSession` fields."""
    bundle.require("onnx", "aipp", why="the CPU stand-in runs device bundles: edgematte export --to om")
    hilens = load_hilens()
    hilens.configure(hilens.StandinSession(source=source, bundle=bundle, **session))
    return hilens


def attached_model(hilens):
    """The model a skill attaches, ``hilens.Model(get_model_dir() + <the .om>)``, on the stand-in."""
    from edgematte.bundle import file_name

    return hilens.Model(hilens.get_model_dir() + file_name("om"))


def run_skill(hilens) -> str | None:
    """Run the session's bundle's own skill file as ``__main__``, and close what it opened however it
    ends. Returns why it stopped early (an exception in the skill, Ctrl-C, a display that failed to
    close), or None when it ran to its end."""
    s = hilens.session()
    s.bundle.require("skill", why="the stand-in runs the bundle's skill: edgematte export --to om")
    stopped = None
    try:
        runpy.run_path(str(s.bundle.path("skill")), run_name="__main__")
    except Exception as e:  # the skill is user-editable code: report, but still close the output
        stopped = f"the skill stopped with {type(e).__name__}: {e}"
    except KeyboardInterrupt:
        stopped = "interrupted"
    finally:
        for display in s.displays:
            try:
                display.close()
            except RuntimeError as e:
                stopped = stopped or str(e)
    return stopped
