"""The output folder ("bundle"): built in a temporary folder beside the target and renamed into place,
so a failed or interrupted export leaves nothing half-written; an existing folder is replaced only with
``force``. ``manifest.json`` describes it: spec, weights, shapes, artifacts by role, checksums, tool
versions and the verification numbers.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import tempfile
from pathlib import Path

from edgematte import __version__
from edgematte.errors import BundleError, OutputExistsError
from edgematte.model.checkpoint import sha256_of

MANIFEST = "manifest.json"


def check_output_free(out: Path, force: bool) -> None:
    """Fail early, before any work, if ``out`` holds something and ``force`` is off."""
    if out.exists() and not out.is_dir():
        raise OutputExistsError(f"output {out} exists and is a file; choose another --out")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise OutputExistsError(f"output folder {out} already exists; pass --force to replace it "
                                "or choose another --out")


class BundleWriter:
    """Context manager giving a scratch folder that becomes ``out`` on :meth:`commit`.

    Leaving the block without committing (an error, Ctrl-C) deletes the scratch folder.
    """

    def __init__(self, out: str | os.PathLike, force: bool = False):
        self.out = Path(out)
        self.force = force
        check_output_free(self.out, force)
        self.workdir: Path | None = None

    def __enter__(self) -> "BundleWriter":
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self.workdir = Path(tempfile.mkdtemp(dir=self.out.parent, prefix=f".{self.out.name}.partial-"))
        return self

    def __exit__(self, *exc) -> None:
        if self.workdir is not None and self.workdir.exists():
            shutil.rmtree(self.workdir, ignore_errors=True)

    def commit(self) -> Path:
        check_output_free(self.out, self.force)  # nothing appeared meanwhile
        old = None
        if self.out.exists():
            old = Path(tempfile.mkdtemp(dir=self.out.parent, prefix=f".{self.out.name}.old-"))
            os.replace(self.out, old / "bundle")
        os.replace(self.workdir, self.out)
        self.workdir = None
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return self.out


def tool_versions() -> dict[str, str]:
    import importlib.metadata as md

    versions = {"edgematte": __version__, "python": platform.python_version()}
    for dist in ("torch", "onnx", "onnxruntime", "onnxsim", "numpy", "opencv-python-headless"):
        try:
            versions[dist] = md.version(dist)
        except md.PackageNotFoundError:
            pass
    return versions


def file_records(folder: Path, relpaths) -> dict[str, dict]:
    return {rel: {"sha256": sha256_of(folder / rel), "bytes": (folder / rel).stat().st_size}
            for rel in sorted(relpaths)}


def write_manifest(folder: Path, manifest: dict) -> Path:
    path = folder / MANIFEST
    path.write_text(json.dumps(manifest, indent=2, sort_keys=False) + "\n")
    return path


def read_manifest(folder: str | os.PathLike) -> dict:
    folder = Path(folder)
    path = folder / MANIFEST
    if not folder.is_dir():
        raise BundleError(f"{folder} is not a folder; give the --out folder of an edgematte export")
    if not path.exists():
        raise BundleError(f"{folder} has no {MANIFEST}; it is not an edgematte export folder")
    try:
        manifest = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise BundleError(f"{path} is not valid JSON ({e}); re-export the bundle") from None
    for key in ("spec", "artifacts", "files"):
        if key not in manifest:
            raise BundleError(f"{path} has no {key!r} entry; re-export the bundle")
    return manifest


def check_files(folder: Path, manifest: dict) -> list[str]:
    """Files listed in the manifest that are missing or whose checksum changed."""
    problems = []
    for rel, record in manifest["files"].items():
        path = folder / rel
        if not path.exists():
            problems.append(f"{rel} is missing")
        elif sha256_of(path) != record["sha256"]:
            problems.append(f"{rel} changed since export (sha256 differs)")
    return problems
