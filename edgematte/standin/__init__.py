"""CPU stand-ins for the device APIs, so a bundle's own app runs unchanged on a laptop: the HiLens Kit's
``hilens`` module (``hilens.py``) for the skill, and pyACL's ``acl`` (``acl.py``) for the AscendCL app.
Each lives in this folder and is imported under its device name. There is one way to open a bundle in each,
used by ``edgematte run``, ``eval --bundle`` and bench's loop::

    from edgematte.standin import start, run_skill
    hilens = start(Bundle.open("out/hilens"), source="clip.mp4", output=Path("out.mp4"))
    stopped = run_skill(hilens)       # the bundle's own skill file, as the device runs it

    acl = start_app(Bundle.open("out/aipro"))
    code, stopped = run_app(acl, ["--input", "clip.mp4", "--output", "out.mp4"])
"""

from __future__ import annotations

import importlib
import io
import runpy
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

FOLDER = Path(__file__).parent


def _load(name: str):
    if str(FOLDER) not in sys.path:
        sys.path.insert(0, str(FOLDER))
    return importlib.import_module(name)


def load_hilens():
    return _load("hilens")


def start(bundle, source: str | int = "none", **session):
    """The ``hilens`` module (the same object ``import hilens`` gives the skill), configured to run
    ``bundle`` (an :class:`edgematte.bundle.Bundle`); ``session``: the other
    :class:`StandinSession` fields."""
    bundle.require("onnx", "aipp", why="the CPU stand-in runs device bundles: edgematte export --to om")
    hilens = load_hilens()
    hilens.configure(hilens.StandinSession(source=source, bundle=bundle, **session))
    return hilens


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


def start_app(bundle, **session):
    """The ``acl`` stand-in (the object ``import acl`` gives the app), configured to run ``bundle``'s model;
    ``session``: the other :class:`AclSession` fields."""
    bundle.require("onnx", "aipp", "app", why="the acl stand-in runs AscendCL bundles: edgematte export --to om "
                                              "--device <a CANN board>")
    acl = _load("acl")
    acl.configure(acl.AclSession(bundle=bundle, **session))
    return acl


class _Lines(io.TextIOBase):
    """A text stream that hands each complete line to ``log``."""

    def __init__(self, log):
        self._log, self._part, self.lines = log, "", []

    def write(self, text: str) -> int:
        self._part += text
        *done, self._part = self._part.split("\n")
        for line in done:
            self.lines.append(line)
            self._log(line)
        return len(text)

    def flush(self) -> None:
        if self._part:
            self.write("\n")


def run_app(acl, argv: list[str]) -> tuple[int, str | None]:
    """Run the session's bundle's own ``app/main.py`` as ``__main__`` with ``argv``, its output lines going to
    the session's log. Returns its exit status and why it stopped early (an error, Ctrl-C, or AscendCL
    resources it did not release), or None when it ran to its end and released everything."""
    s = acl.session()
    path = s.bundle.path("app")
    out = _Lines(s.log)
    saved, sys.argv = sys.argv, [str(path), *argv]
    code, stopped = 0, None
    try:
        with redirect_stdout(out), redirect_stderr(out):
            runpy.run_path(str(path), run_name="__main__")
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except KeyboardInterrupt:
        code, stopped = 130, "interrupted"
    except Exception as e:  # the app is user-editable code: report it
        code, stopped = 1, f"the app stopped with {type(e).__name__}: {e}"
    finally:
        sys.argv = saved
        out.flush()
    if code and stopped is None:
        errors = [line for line in out.lines if line.startswith("Error:") or "error:" in line]
        stopped = "interrupted" if code == 130 else (errors[-1].removeprefix("Error: ") if errors else
                                                     f"the app exited with status {code}")
    left = acl.held()
    if left:
        stopped = (stopped + "; " if stopped else "") + f"the app did not release {', '.join(left)}"
    return code, stopped
