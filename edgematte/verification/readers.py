"""Independent readers of exported artifacts; export and ``verify`` run every reader a bundle has files for."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from edgematte.spec import PipelineSpec
from edgematte.verification.compare import CheckResult, compare_runner
from edgematte.verification.golden import GoldenSet


def _onnxruntime(folder: Path, artifacts: dict[str, str], spec: PipelineSpec):
    from edgematte.runtime.ort import OrtRunner

    return OrtRunner(folder / artifacts["onnx"])


@dataclass(frozen=True)
class Reader:
    name: str
    roles: tuple[str, ...]  # the artifact roles it needs
    make_runner: Callable[[Path, dict, PipelineSpec], object]


READERS: tuple[Reader, ...] = (
    Reader("onnxruntime", ("onnx",), _onnxruntime),
)


def run_readers(folder: Path, artifacts: dict[str, str], spec: PipelineSpec, golden: GoldenSet,
                log: Callable[[str], None] = lambda _: None) -> list[CheckResult]:
    results: list[CheckResult] = []
    for reader in READERS:
        if all(role in artifacts for role in reader.roles):
            log(f"verifying with {reader.name}")
            results += compare_runner(reader.make_runner(folder, artifacts, spec), golden, spec)
    return results
