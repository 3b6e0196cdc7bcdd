"""Runs an ONNX model in onnxruntime (CPU).

Worker threads do not spin between runs: in the camera loop other stages (resize, composite, encode) run
between inferences, and spinning threads would take their CPU. Measured on 2 cores at 512x288 with
sessions alternating: 154 ms per inference with ORT's default spinning, 122 ms without.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


class OrtRunner:
    name = "onnxruntime"

    def __init__(self, path: str | Path, threads: int | None = None, spin: bool = False):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.log_severity_level = 3
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
        if threads:
            options.intra_op_num_threads = threads
        self.path, self.options = str(path), options
        self.session = ort.InferenceSession(self.path, options, providers=["CPUExecutionProvider"])
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.output_names = [o.name for o in self.session.get_outputs()]
        self._probes: tuple[tuple[str, ...], object] | None = None

    def infer(self, feed: dict[str, np.ndarray], extra: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
        """The graph's outputs for ``feed``; ``extra``: inner tensors to return as well (verification)."""
        session = self._probing(tuple(extra)) if extra else self.session
        names = self.output_names + list(extra)
        outputs = session.run(names, {k: feed[k] for k in self.input_names})
        return dict(zip(names, outputs))

    def _probing(self, extra: tuple[str, ...]):
        """A session of a copy of the graph that also outputs ``extra`` (made once per set of names)."""
        if self._probes is None or self._probes[0] != extra:
            import onnx
            import onnxruntime as ort

            proto = onnx.load(self.path)
            proto.graph.output.extend(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None)
                                      for name in extra)
            self._probes = (extra, ort.InferenceSession(proto.SerializeToString(), self.options,
                                                        providers=["CPUExecutionProvider"]))
        return self._probes[1]
