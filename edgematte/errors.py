"""User-facing errors.

Every subclass of :class:`EdgematteError` is a mistake the user can fix (a wrong file, a bad size, an
existing output). The CLI prints its one-line message and exits with status 1, without a traceback.
Any other exception is a bug in edgematte and keeps its traceback.
"""

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
        previous = _interrupt_on_sigterm()
        try:
            return super().invoke(ctx)
        except OSError as e:
            raise EdgematteError(os_error_message(e)) from None
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)


def _interrupt_on_sigterm():
    """SIGTERM (``timeout``, ``kill``, systemd, a CI cancelling a job) stops a command as Ctrl-C does, so it
    cleans up the same way: no scratch folder, a closed output. Returns the handler it replaced (None off the
    main thread, where signals cannot be handled)."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def interrupt(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")
    return signal.signal(signal.SIGTERM, interrupt)
