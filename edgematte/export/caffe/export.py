"""``CaffeExporter``: ONNX graph -> Caffe net in the Kit's subset -> rule check -> prototxt + caffemodel."""

from __future__ import annotations

import collections
from pathlib import Path

from edgematte.errors import EdgematteError
from edgematte.export.caffe.lowering import LoweringError, lower_onnx
from edgematte.export.caffe.net import CaffeNet
from edgematte.export.caffe.rules import kit_rule_problems
from edgematte.export.caffe.writer import write_caffe
from edgematte.spec import PipelineSpec


class CaffeExportError(EdgematteError):
    pass


def caffe_summary(net: CaffeNet) -> dict:
    types = collections.Counter(layer.type for layer in net.layers)
    return {"layers": len(net.layers), "parameters": net.parameter_count(),
            "inputs": {k: list(v) for k, v in net.inputs.items()}, "outputs": list(net.outputs),
            "types": dict(sorted(types.items()))}


class CaffeExporter:
    def __init__(self, spec: PipelineSpec):
        self.spec = spec

    def to_net(self, onnx_proto) -> CaffeNet:
        try:
            net = lower_onnx(onnx_proto, name=f"{self.spec.model}_{self.spec.width}x{self.spec.height}")
        except LoweringError as e:
            raise CaffeExportError(f"cannot lower to the HiLens Kit's Caffe subset: {e}") from None
        problems = kit_rule_problems(net)
        if problems:
            shown = "; ".join(map(str, problems[:5])) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
            raise CaffeExportError(f"the Caffe net breaks the HiLens Kit's rules: {shown}")
        return net

    def export(self, onnx_proto, prototxt: Path, caffemodel: Path, header: str = "") -> dict:
        net = self.to_net(onnx_proto)
        write_caffe(net, prototxt, caffemodel, header)
        return caffe_summary(net)
