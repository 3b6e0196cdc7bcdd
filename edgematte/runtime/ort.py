"""Runs an ONNX model in onnxruntime (CPU)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


class OrtRunner:
    name = "onnxruntime"

    def __init__(self, path: str | Path, threads: int | None = None):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.log_severity_level = 3
        if threads:
            options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.output_names = [o.name for o in self.session.get_outputs()]

    def infer(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        outputs = self.session.run(self.output_names, {k: feed[k] for k in self.input_names})
        return dict(zip(self.output_names, outputs))
