"""The output folder ("bundle"), and the one module that knows its shape.

Every file name a bundle can hold is written here once (:data:`LAYOUT`, by role). :class:`Bundle` opens a
folder (``Bundle.open(path)``) and is the only code that reads ``manifest.json``: it gives the typed
:class:`Manifest`, the spec, and ``path(role)``, the single place where a role becomes a path.
:class:`BundleWriter` is the writing half: a scratch folder beside the target, renamed into place on
:meth:`BundleWriter.commit`, so a failed or interrupted export leaves nothing half-written; an existing
folder is replaced only with ``force``. Torch-free: ``edgematte verify`` runs without PyTorch.
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import secrets
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from edgematte import __version__
from edgematte.checksum import sha256_of
from edgematte.errors import BundleError, OutputExistsError
from edgematte.spec import PipelineSpec

MANIFEST = "manifest.json"
FORMAT = 2  # manifest format; 1 (edgematte before the Bundle type) had no "format" key
MODEL_STEM = "modnet4"  # the model files' stem; a bundle of another network (spec.model) uses that name
MODEL_ROLES = ("onnx", "onnx_int8", "prototxt", "caffemodel", "om")
REFINER_FOLDER = "refiner"  # a device bundle's refiner (M-Net) keeps its own files under this folder
REFINER_ROLES = ("onnx", "prototxt", "caffemodel", "om", "aipp", "golden")  # what the refiner folder can hold
FAILED_SUFFIX = ".failed-verification"  # where a bundle that does not match PyTorch is kept for a report

# role -> path inside the bundle. Which roles a bundle has is decided by its route (export/routes.py).
LAYOUT: dict[str, str] = {
    "onnx": f"{MODEL_STEM}.onnx",
    "onnx_int8": f"{MODEL_STEM}_int8.onnx",       # the CPU stand-in's INT8 model (export --int8)
    "prototxt": f"{MODEL_STEM}.prototxt",
    "caffemodel": f"{MODEL_STEM}.caffemodel",
    "om": f"{MODEL_STEM}.om",                      # what omg/atc write, when the tool ran at export
    "aipp": "aipp.cfg",
    "convert_script": "convert.sh",
    "convert_log": "convert.log",
    "readme": "README.md",
    "golden": "golden.npz",
    "skill": "skill/main.py",
    "skill_config": "skill/skill_config.json",
    "skill_config_items": "skill/config_items.json",  # the runtime config items as the console asks for them
    "app": "app/main.py",                          # the AscendCL app (CANN boards)
}


AFTER_EXPORT_ROLES = ("om", "convert_log")  # convert.sh writes them where the compiler runs, after export
EXECUTABLE_SUFFIXES = {".py", ".pyc", ".sh", ".so", ".dylib", ".dll", ".exe", ".bash"}


def export_flags(to: str, via: str | None = None, device: str | None = None) -> str:
    """``--to to [--via via] [--device device]``: how a bundle is (or was) made, for messages."""
    return f"--to {to}" + (f" --via {via}" if via else "") + (f" --device {device}" if device else "")


def fed_back(weights: dict) -> bool:
    """Whether the apps feed the network its own previous alpha, from the manifest's ``weights`` record: False only
    where its checkpoint says it was trained on zero previous alphas (``meta.feedback``); older records: True."""
    meta = weights.get("meta") if isinstance(weights, dict) else None
    return not (isinstance(meta, dict) and meta.get("feedback") is False)


def file_name(role: str, model: str = MODEL_STEM) -> str:
    """The path of ``role`` inside a bundle of ``model`` (spec.model), whether or not a given bundle has it."""
    rel = LAYOUT[role]
    return rel.replace(MODEL_STEM, model, 1) if role in MODEL_ROLES else rel


# --- the manifest ------------------------------------------------------------------------------------------
@dataclass
class Manifest:
    """``manifest.json``, typed. Field meanings: docs/bundle.md."""

    edgematte: str
    created: str
    target: str                      # the --to value
    spec: PipelineSpec
    weights: dict
    artifacts: dict[str, str]        # role -> path inside the bundle
    files: dict[str, dict]           # path -> {"sha256", "bytes"}
    tools: dict[str, str]
    verification: dict               # {"passed", "atol", "noise", "source", "checks": [...]}
    via: str | None = None           # the --via value (om only)
    device: str | None = None        # the device family (devices.py) the compiler command is for
    convert: dict | None = None      # the device compiler: tool, argv, note, ran
    int8: dict | None = None         # the INT8 model's record (export --int8)
    atc_onnx: dict | None = None     # what was rewritten in the ONNX for atc, and the change it made
    onnx_graph: dict | None = None
    caffe_graph: dict | None = None
    refiner: dict | None = None      # the refiner's own manifest (its spec, weights, artifacts, checks)
    format: int = FORMAT

    REQUIRED = ("format", "edgematte", "created", "target", "spec", "weights", "artifacts", "files", "tools",
                "verification")

    @property
    def passed(self) -> bool:
        return bool(self.verification.get("passed"))

    @property
    def atol(self) -> float:
        """The tolerance the bundle was verified with; ``verify`` holds it to the same ceiling export does."""
        from edgematte.verification.tolerance import CEILING

        atol = self.verification.get("atol")
        if not isinstance(atol, (int, float)) or isinstance(atol, bool) or not 0 < atol <= CEILING:
            raise BundleError(f"{MANIFEST}: verification atol {atol!r} is not a tolerance in (0, {CEILING:.2e}]; "
                              f"re-export the bundle")
        return float(atol)

    @property
    def export_flags(self) -> str:
        """How the bundle was made, as the export flags that make it again (for messages)."""
        return export_flags(self.target, self.via, self.device)

    def to_dict(self) -> dict:
        data = {"format": self.format, "edgematte": self.edgematte, "created": self.created,
                "target": self.target, "via": self.via, "device": self.device, "spec": self.spec.to_dict(),
                "weights": self.weights,
                "inputs": {k: list(v) for k, v in self.spec.input_shapes.items()},
                "outputs": {k: list(v) for k, v in self.spec.output_shapes.items()},
                "artifacts": self.artifacts, "files": self.files, "tools": self.tools,
                "onnx_graph": self.onnx_graph, "caffe_graph": self.caffe_graph, "int8": self.int8,
                "atc_onnx": self.atc_onnx,
                "convert": self.convert, "verification": self.verification, "refiner": self.refiner}
        return {k: v for k, v in data.items() if v is not None}

    @classmethod
    def from_dict(cls, data: dict, where: str = MANIFEST) -> "Manifest":
        if not isinstance(data, dict):
            raise BundleError(f"{where} is not a JSON object; re-export the bundle")
        if "format" not in data:
            raise BundleError(f"{where} was written by an edgematte older than this one (manifest format 1); "
                              f"re-export the bundle")
        if data["format"] != FORMAT:
            raise BundleError(f"{where} has manifest format {data['format']!r}, this edgematte reads {FORMAT}; "
                              f"re-export the bundle or use the edgematte that wrote it ({data.get('edgematte')})")
        missing = [k for k in cls.REQUIRED if k not in data]
        if missing:
            raise BundleError(f"{where} has no {', '.join(repr(k) for k in missing)} entry; re-export the bundle")
        for key, kind in (("spec", dict), ("weights", dict), ("artifacts", dict), ("files", dict),
                          ("tools", dict), ("verification", dict)):
            if not isinstance(data[key], kind):
                raise BundleError(f"{where}: {key!r} is not a JSON object; re-export the bundle")
        for key in ("target", "via", "device"):
            if not isinstance(data.get(key), (str, type(None))):
                raise BundleError(f"{where}: {key!r} is {data[key]!r}, not a name; re-export the bundle")
        unknown_roles = sorted(set(data["artifacts"]) - set(LAYOUT))
        if unknown_roles:
            raise BundleError(f"{where} lists artifacts this edgematte does not know ({', '.join(unknown_roles)}); "
                              f"upgrade edgematte or re-export the bundle")
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["spec"] = PipelineSpec.from_dict(data["spec"])
        return cls(**values)


# --- reading ---------------------------------------------------------------------------------------------
class Bundle:
    """An export folder opened for reading: its manifest, its spec, and its files by role."""

    def __init__(self, folder: Path, manifest: Manifest):
        self.folder = folder
        self.manifest = manifest

    @classmethod
    def open(cls, path: str | os.PathLike) -> "Bundle":
        folder = Path(path)
        if not folder.is_dir():
            raise BundleError(f"{folder} is not a folder; give the --out folder of an edgematte export")
        manifest_path = folder / MANIFEST
        if not manifest_path.is_file():
            raise BundleError(f"{folder} has no {MANIFEST}; it is not an edgematte export folder")
        try:
            data = json.loads(manifest_path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise BundleError(f"{manifest_path} is not valid JSON ({e}); re-export the bundle") from None
        return cls(folder, Manifest.from_dict(data, str(manifest_path)))

    @property
    def spec(self) -> PipelineSpec:
        return self.manifest.spec

    @property
    def refiner(self) -> "Bundle | None":
        """The refiner's files (its own manifest, paths inside this folder), or None without one. Its
        checksums are this bundle's (:meth:`file_problems` covers them)."""
        record = self.manifest.refiner
        if record is None:
            return None
        manifest = Manifest.from_dict(record, f"{self.folder}/{MANIFEST} (refiner)")
        for role, rel in manifest.artifacts.items():
            if role not in REFINER_ROLES or not rel.startswith(REFINER_FOLDER + "/"):
                raise BundleError(f"{self.folder}/{MANIFEST}: the refiner's {role} is {rel!r}, not a refiner file "
                                  f"under {REFINER_FOLDER}/; re-export the bundle")
        return Bundle(self.folder, manifest)

    def has(self, role: str) -> bool:
        return role in self.manifest.artifacts

    def path(self, role: str) -> Path:
        """Where the bundle's ``role`` file is. Every reader of a bundle file comes through here."""
        if role not in self.manifest.artifacts:
            raise BundleError(f"{self.folder} has no {role} (exported with {self.manifest.export_flags})")
        return self._inside(self.manifest.artifacts[role], role)

    def _inside(self, rel, what: str) -> Path:
        """``rel`` as a path in the folder; anything that could lead out of it is a :class:`BundleError`."""
        parts = PurePosixPath(rel).parts if isinstance(rel, str) else ()
        if not rel or not isinstance(rel, str) or PurePosixPath(rel).is_absolute() or ".." in parts or "\\" in rel:
            raise BundleError(f"{self.folder}/{MANIFEST} points {what} at {rel!r}, outside the bundle; "
                              f"re-export the bundle")
        path = self.folder / rel
        if not path.resolve().is_relative_to(self.folder.resolve()):
            raise BundleError(f"{self.folder}/{rel} ({what}) leads outside the bundle (a link?); re-export the bundle")
        return path

    def require(self, *roles: str, why: str) -> None:
        """Raise :class:`BundleError` naming the missing roles and ``why`` they are needed (the fix)."""
        missing = [r for r in roles if not self.has(r)]
        if missing:
            raise BundleError(f"{self.folder} has no {', '.join(missing)} (exported with "
                              f"{self.manifest.export_flags}); {why}")
        for role in roles:
            self.path(role)  # and each resolves inside the bundle, before any work

    def file_problems(self) -> list[str]:
        """What ``verify`` fails on before running anything: a listed file missing or changed, an artifact
        without a checksum, and an unlisted file where it could be executed (the skill's folder, scripts,
        Python, libraries). What convert.sh writes after export (the .om and its log) may be unlisted."""
        problems = []
        listed = set()
        for rel, record in self.manifest.files.items():
            path = self._inside(rel, "a checksummed file")
            listed.add(path.resolve())
            if not path.is_file():
                problems.append(f"{rel} is missing")
            elif not isinstance(record, dict) or sha256_of(path) != record.get("sha256"):
                problems.append(f"{rel} changed since export (sha256 differs)")
        refiner = self.refiner
        artifacts = list(self.manifest.artifacts.items()) + list(refiner.manifest.artifacts.items() if refiner else [])
        for role, rel in artifacts:
            if rel not in self.manifest.files:
                problems.append(f"{rel} ({role}) has no checksum in {MANIFEST}; re-export the bundle")
        produced_later = {(self.folder / LAYOUT[r]).resolve() for r in AFTER_EXPORT_ROLES}
        if refiner is not None:
            produced_later.add((self.folder / refiner_file("om", refiner.spec.model)).resolve())
        skill_dir = (self.folder / LAYOUT["skill"]).parent.resolve()
        for path in sorted(p for p in self.folder.rglob("*") if p.is_file() or p.is_symlink()):
            resolved = path.resolve()
            if resolved in listed or resolved in produced_later or path.name == MANIFEST and path.parent == self.folder:
                continue
            if resolved.is_relative_to(skill_dir) or path.suffix in EXECUTABLE_SUFFIXES or _is_executable(path):
                problems.append(f"{path.relative_to(self.folder)} is not listed in {MANIFEST} and could be executed "
                                f"(skill code, a script or a library); remove it or re-export the bundle")
        return problems


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


# --- writing ---------------------------------------------------------------------------------------------
def check_output_free(out: Path, force: bool, inputs=()) -> None:
    """Fail early, before any work, unless ``out`` can become the bundle: absent or empty, or (with
    ``force``) an edgematte bundle to replace. Never a file, a link, the current folder or one holding it,
    or a folder holding one of ``inputs`` (e.g. the checkpoint)."""
    out = Path(out)
    resolved = out.resolve()
    if not out.name or Path.cwd().resolve().is_relative_to(resolved):
        raise OutputExistsError(f"--out {out} is the current folder or holds it; give a new folder, e.g. out/bundle")
    for source in inputs:
        if source is not None and Path(source).resolve().is_relative_to(resolved):
            raise OutputExistsError(f"--out {out} holds the input {source}, which replacing it would delete; "
                                    f"choose another --out")
    blocking = next((p for p in resolved.parents if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise OutputExistsError(f"--out {out}: {blocking} is a file, not a folder; choose another --out")
    if out.is_symlink():
        raise OutputExistsError(f"output {out} is a symbolic link; choose another --out")
    if out.exists() and not out.is_dir():
        raise OutputExistsError(f"output {out} exists and is not a folder; choose another --out")
    if out.is_dir() and any(out.iterdir()):
        if not force:
            raise OutputExistsError(f"output folder {out} already exists; pass --force to replace it "
                                    "or choose another --out")
        if not _edgematte_or_empty(out):
            raise OutputExistsError(f"output folder {out} holds files edgematte did not write (no {MANIFEST}); "
                                    f"--force replaces only an edgematte export folder: choose another --out")


def _edgematte_or_empty(folder: Path) -> bool:
    """A folder edgematte may replace: empty, or an export folder (it holds a manifest)."""
    return folder.is_dir() and ((folder / MANIFEST).is_file() or not any(folder.iterdir()))


class BundleWriter:
    """Context manager giving a scratch folder that becomes ``out`` on :meth:`commit`.

    Leaving the block without committing (an error, Ctrl-C) deletes the scratch folder.
    """

    def __init__(self, out: str | os.PathLike, force: bool = False, inputs=(), model: str = MODEL_STEM):
        self.out = Path(out)
        self.model = model  # the network the bundle holds (spec.model): its files' stem
        self.force = force
        self.inputs = tuple(inputs)
        check_output_free(self.out, force, self.inputs)
        self.workdir: Path | None = None

    def __enter__(self) -> "BundleWriter":
        self.out.parent.mkdir(parents=True, exist_ok=True)
        while True:  # named before it exists, so an interrupt that lands between making and naming it removes it
            self.workdir = self.out.parent / f".{self.out.name}.partial-{secrets.token_hex(4)}"
            try:
                self.workdir.mkdir(mode=0o700)
                return self
            except FileExistsError:
                continue
            except BaseException:  # Ctrl-C or SIGTERM inside __enter__, where the with statement cannot clean up
                shutil.rmtree(self.workdir, ignore_errors=True)
                raise

    def __exit__(self, *exc) -> None:
        if self.workdir is not None and self.workdir.exists():
            shutil.rmtree(self.workdir, ignore_errors=True)

    def path(self, role: str) -> Path:
        """Where to write ``role`` in the scratch folder (its parent folder made)."""
        path = self.workdir / self.rel(role)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def rel(self, role: str) -> str:
        """``role``'s path inside this bundle."""
        return file_name(role, self.model)

    def section(self, folder: str, model: str) -> "BundleSection":
        """Where another network's files go in this bundle (the refiner's: ``refiner/``)."""
        return BundleSection(self, folder, model)

    def write_manifest(self, manifest: Manifest) -> None:
        (self.workdir / MANIFEST).write_text(json.dumps(manifest.to_dict(), indent=2) + "\n")

    def file_records(self, roles, section: "BundleSection | None" = None) -> dict[str, dict]:
        """{path: {"sha256", "bytes"}} of ``roles`` (of ``section``'s network, if given)."""
        rel = (section or self).rel
        return {rel(r): {"sha256": sha256_of(self.workdir / rel(r)), "bytes": (self.workdir / rel(r)).stat().st_size}
                for r in sorted(roles, key=rel)}

    def commit(self) -> Path:
        check_output_free(self.out, self.force, self.inputs)  # nothing appeared meanwhile
        return self._move_to(self.out)

    @property
    def failed_path(self) -> Path:
        return self.out.with_name(self.out.name + FAILED_SUFFIX)

    def commit_failed(self) -> Path | None:
        """Keep a bundle that failed verification under :attr:`failed_path`, never under ``out``; an earlier
        failed edgematte bundle there is replaced, anything else is left alone (and None is returned)."""
        target = self.failed_path
        if target.is_symlink() or (target.exists() and not _edgematte_or_empty(target)):
            return None
        return self._move_to(target)

    def _move_to(self, target: Path) -> Path:
        old = None
        if target.exists():
            old = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.old-"))
            os.replace(target, old / "bundle")
        os.replace(self.workdir, target)
        self.workdir = None
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return target


def refiner_file(role: str, model: str) -> str:
    """The path of the refiner's ``role`` inside a bundle: its folder, then the names any bundle gives."""
    return f"{REFINER_FOLDER}/{file_name(role, model)}"


class BundleSection:
    """Another network's files in a bundle being written (the refiner's, under ``refiner/``): the same
    ``path``/``rel`` as :class:`BundleWriter`, so one route writer serves both."""

    def __init__(self, writer: BundleWriter, folder: str, model: str):
        self.writer, self.folder, self.model = writer, folder, model

    @property
    def workdir(self) -> Path:
        return self.writer.workdir

    def rel(self, role: str) -> str:
        return f"{self.folder}/{file_name(role, self.model)}"

    def path(self, role: str) -> Path:
        path = self.writer.workdir / self.rel(role)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path


def tool_versions() -> dict[str, str]:
    import importlib.metadata as md

    versions = {"edgematte": __version__, "python": platform.python_version()}
    for dist in ("torch", "onnx", "onnxruntime", "onnxsim", "numpy", "opencv-python-headless"):
        try:
            versions[dist] = md.version(dist)
        except md.PackageNotFoundError:
            pass
    return versions
