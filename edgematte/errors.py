"""User-facing errors.

Every subclass of :class:`EdgematteError` is a mistake the user can fix (a wrong file, a bad size, an
existing output). The CLI prints its one-line message and exits with status 1, without a traceback.
Any other exception is a bug in edgematte and keeps its traceback.
"""

import os
import signal
import threading

import click


class EdgematteError(click.ClickException):
    """A problem with the user's input, with a message that names it and the fix."""

    exit_code = 1


class CheckpointError(EdgematteError):
    """The checkpoint is missing, unreadable, or not a MODNet checkpoint."""


class SpecError(EdgematteError):
    """A preset or size that the pipeline cannot use."""


class OutputExistsError(EdgematteError):
    """The output folder exists and --force was not given."""


class BundleError(EdgematteError):
    """An output folder is incomplete, corrupt, or not an edgematte bundle."""


class VerificationError(EdgematteError):
    """An exported artifact does not compute what the PyTorch model computes."""


def shorten(text: str, limit: int = 200) -> str:
    """``text`` on one line, cut at a word boundary (never mid-word) with an ellipsis when longer than ``limit``."""
    text = " ".join(str(text).split())
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(",;:") + " …"


def os_error_message(e: OSError) -> str:
    """One line for an OS error on a user's path: what failed, on which file, and what to check."""
    where = f" {e.filename}" if e.filename else ""
    also = f" -> {e.filename2}" if getattr(e, "filename2", None) else ""
    return (f"cannot use{where}{also}: {e.strerror or shorten(str(e))}; check that the path exists, is the kind "
            f"of thing asked for (file or folder), and is writable")


def lookup(table, name: str, kind: str):
    """``table[name]``, or a :class:`SpecError` naming the nearest valid ``kind`` and all valid ones."""
    import difflib

    try:
        return table[name]
    except KeyError:
        close = difflib.get_close_matches(name, list(table), n=1)
        hint = f"did you mean {close[0]}? " if close else ""
        raise SpecError(f"unknown {kind} {name!r}; {hint}valid {kind}s: {', '.join(table)}") from None


class CommandGroup(click.Group):
    """The CLI's group: an OS error on a user's path (a file where a folder is needed, no permission, a full
    disk) becomes one ``Error:`` line with exit status 1, as every user mistake (click's usage errors keep status
    2), and SIGTERM interrupts a command as Ctrl-C does."""

    def invoke(self, ctx):
        previous = _interrupt_on_signals()
        try:
            return super().invoke(ctx)
        except OSError as e:
            raise EdgematteError(os_error_message(e)) from None
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)


REDELIVER_S = 0.05  # how long a signal that lands inside an import waits before it is delivered again


def _interrupt_on_signals():
    """SIGTERM (``timeout``, ``kill``, systemd, a CI cancelling a job) stops a command as Ctrl-C does, so it
    cleans up the same way: no scratch folder, a closed output.

    Both signals are held back while Python is importing a module: an exception raised there can unwind
    through a native module's initialiser (onnx's pybind11 enums call back into Python while it loads), and
    C++ then calls ``std::terminate``, which aborts the process with a traceback and leaves the scratch folder
    behind (seen in CI: SIGTERM landed in ``import onnx``). Such a signal is sent again ``REDELIVER_S`` later,
    until it lands outside the import machinery. Returns the handlers it replaced (none off the main thread,
    where signals cannot be handled)."""
    if threading.current_thread() is not threading.main_thread():
        return {}

    def interrupt(signum, frame):
        if _inside_import(frame):
            timer = threading.Timer(REDELIVER_S, os.kill, (os.getpid(), signum))
            timer.daemon = True
            timer.start()
            return
        raise KeyboardInterrupt() if signum == signal.SIGINT else KeyboardInterrupt(f"signal {signum}")
    return {signum: signal.signal(signum, interrupt) for signum in (signal.SIGTERM, signal.SIGINT)}


def _inside_import(frame) -> bool:
    """Whether ``frame`` or one of its callers is in importlib's bootstrap (a module being loaded)."""
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False
