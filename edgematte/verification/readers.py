"""Independent readers of exported artifacts; export and ``verify`` run every reader a bundle has files for.

ONNX is read by onnxruntime. The Caffe pair is read by two readers that share no code with the writer:
our numpy executor of the Kit's dialect, and OpenCV DNN 4.x in a worker process.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from edgematte.runtime import RunnerError
from edgematte.spec import PipelineSpec
from edgematte.verification.compare import CheckResult, compare_runner
from edgematte.verification.golden import GoldenSet


def _onnxruntime(folder: Path, artifacts: dict[str, str]):
    from edgematte.runtime.ort import OrtRunner

    return OrtRunner(folder / artifacts["onnx"])


def _caffe_numpy(folder: Path, artifacts: dict[str, str]):
    from edgematte.runtime.caffe_ref import CaffeRefRunner

    return CaffeRefRunner(folder / artifacts["prototxt"], folder / artifacts["caffemodel"])


def _opencv_dnn(folder: Path, artifacts: dict[str, str]):
    from edgematte.runtime.opencv_caffe import OpenCvCaffeRunner

    return OpenCvCaffeRunner(folder / artifacts["prototxt"], folder / artifacts["caffemodel"])


@dataclass(frozen=True)
class Reader:
    name: str
    roles: tuple[str, ...]  # the artifact roles it needs
    make_runner: Callable[[Path, dict], object]


READERS: tuple[Reader, ...] = (
    Reader("onnxruntime", ("onnx",), _onnxruntime),
    Reader("caffe-numpy", ("prototxt", "caffemodel"), _caffe_numpy),
    Reader("opencv-dnn", ("prototxt", "caffemodel"), _opencv_dnn),
)


def run_readers(folder: Path, artifacts: dict[str, str], spec: PipelineSpec, golden: GoldenSet,
                log: Callable[[str], None] = lambda _: None) -> list[CheckResult]:
    results: list[CheckResult] = []
    for reader in READERS:
        if not all(role in artifacts for role in reader.roles):
            continue
        log(f"verifying with {reader.name}")
        runner = None
        try:
            runner = reader.make_runner(folder, artifacts)
            results += compare_runner(runner, golden, spec)
        except RunnerError as e:
            results.append(CheckResult("load", reader.name, float("inf"), float("inf"), spec.atol, error=str(e)))
        finally:
            if hasattr(runner, "close"):
                runner.close()
    return results
