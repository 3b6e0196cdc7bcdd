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
from edgematte.verification.near_ties import caffe_tie_outputs, onnx_tie_outputs


def _onnxruntime(files: dict[str, Path]):
    from edgematte.runtime.ort import OrtRunner

    return OrtRunner(files["onnx"])


def _caffe_numpy(files: dict[str, Path]):
    from edgematte.runtime.caffe_ref import CaffeRefRunner

    return CaffeRefRunner(files["prototxt"], files["caffemodel"])


def _opencv_dnn(files: dict[str, Path]):
    from edgematte.runtime.opencv_caffe import OpenCvCaffeRunner

    return OpenCvCaffeRunner(files["prototxt"], files["caffemodel"])


def _onnx_ties(files: dict[str, Path]) -> list[str]:
    return onnx_tie_outputs(files["onnx"])


def _caffe_ties(files: dict[str, Path]) -> list[str]:
    return caffe_tie_outputs(files["prototxt"], files["caffemodel"])


@dataclass(frozen=True)
class Reader:
    name: str
    roles: tuple[str, ...]  # the artifact roles it needs
    make_runner: Callable[[dict[str, Path]], object]  # role -> path of the bundle's files
    tie_outputs: Callable[[dict[str, Path]], list[str]]  # the names its runner returns M-Net's winner masks by


READERS: tuple[Reader, ...] = (
    Reader("onnxruntime", ("onnx",), _onnxruntime, _onnx_ties),
    Reader("caffe-numpy", ("prototxt", "caffemodel"), _caffe_numpy, _caffe_ties),
    Reader("opencv-dnn", ("prototxt", "caffemodel"), _opencv_dnn, _caffe_ties),
)


def run_readers(files: dict[str, Path], spec: PipelineSpec, golden: GoldenSet, atol: float,
                log: Callable[[str], None] = lambda _: None) -> list[CheckResult]:
    """Every reader that has the files it needs (``files``: role -> path) against the golden outputs."""
    results: list[CheckResult] = []
    for reader in READERS:
        if not all(role in files for role in reader.roles):
            continue
        log(f"verifying with {reader.name}")
        runner = None
        try:
            runner = reader.make_runner(files)
            ties = tuple(reader.tie_outputs(files)) if spec.network.unpooling else ()
            results += compare_runner(runner, golden, spec, atol, ties)
        except RunnerError as e:
            results.append(CheckResult("load", reader.name, float("inf"), float("inf"), atol, error=str(e)))
        finally:
            if hasattr(runner, "close"):
                runner.close()
    return results
