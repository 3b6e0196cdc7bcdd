"""Output files (videos, reports, plots): never over something the user did not ask to replace, never the
input itself, never half-written. Bundles (folders) follow the same rules in :mod:`edgematte.bundle`."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

from edgematte.errors import EdgematteError, OutputExistsError


def check_output_file(path: Path, force: bool, inputs=(), suffixes: tuple[str, ...] = (), what: str = "output") -> Path:
    """Fail before any work if ``path`` cannot be written as asked: it exists (without ``force``), it is not
    a regular file (a folder, a device, a socket, a link), it is one of ``inputs``, or its extension is not
    one of ``suffixes`` (what is written there)."""
    path = Path(path)
    if suffixes and path.suffix.lower() not in suffixes:
        raise EdgematteError(f"{what} {path} must end in {' or '.join(suffixes)}: that is the format written there")
    above = next((p for p in path.parents if p.exists()), None)
    if above is not None and not above.is_dir():
        raise OutputExistsError(f"{what} {path} is under {above}, which is a file, not a folder; choose another name")
    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise OutputExistsError(f"{what} {path} exists and is not a regular file; choose another name")
    for source in (Path(s) for s in inputs if s is not None):
        linked = source.exists() and path.exists() and os.path.samefile(path, source)  # e.g. a hard link
        if linked or source.resolve() == path.resolve():
            raise OutputExistsError(f"{what} {path} is also an input ({source}); choose another name")
    if path.exists() and not force:
        raise OutputExistsError(f"{what} {path} already exists; pass --force to replace it")
    return path


def partial_name(path: Path) -> Path:
    """The hidden name beside ``path`` that it is written under until complete (same extension)."""
    return path.with_name(f".{path.stem}.partial{path.suffix}")


@contextmanager
def written_atomically(path: Path):
    """Yields the name to write; renames it to ``path`` when the block ends normally, deletes it otherwise."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = partial_name(path)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
