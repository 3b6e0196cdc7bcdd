"""Graph rewrites on the ONNX model before it is lowered to Caffe: fewer layers on the chip, same function.

``fold_split_batchnorm``: IBNorm runs BatchNorm on the first half of a convolution's output channels
(Conv -> Split -> BatchNormalization on output 0). BatchNorm with fixed statistics is a per-channel
affine map, so it folds into those output channels' weights and biases, and the BatchNorm + Scale pair
disappears from the Caffe net (16 pairs in MODNet). The InstanceNorm half is left alone.
"""

from __future__ import annotations

import numpy as np


def fold_split_batchnorm(proto) -> int:
    """Rewrite ``proto`` in place; returns the number of BatchNorm nodes folded."""
    import onnx
    from onnx import numpy_helper

    graph = proto.graph
    inits = {i.name: i for i in graph.initializer}
    producers = {o: n for n in graph.node for o in n.output}
    consumers: dict[str, list] = {}
    for n in graph.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    folded = []
    for bn in [n for n in graph.node if n.op_type == "BatchNormalization"]:
        split = producers.get(bn.input[0])
        if split is None or split.op_type != "Split" or split.output[0] != bn.input[0]:
            continue
        conv = producers.get(split.input[0])
        if conv is None or conv.op_type != "Conv" or len(consumers.get(conv.output[0], [])) != 1:
            continue
        if any(name not in inits for name in (*bn.input[1:5], conv.input[1])):
            continue
        eps = next((onnx.helper.get_attribute_value(a) for a in bn.attribute if a.name == "epsilon"), 1e-5)
        gamma, beta, mean, var = (numpy_helper.to_array(inits[name]).astype(np.float64) for name in bn.input[1:5])
        w = numpy_helper.to_array(inits[conv.input[1]]).astype(np.float64)
        b = (numpy_helper.to_array(inits[conv.input[2]]).astype(np.float64) if len(conv.input) > 2
             else np.zeros(w.shape[0]))
        c = gamma.size
        scale = gamma / np.sqrt(var + eps)
        w[:c] *= scale[:, None, None, None]
        b[:c] = (b[:c] - mean) * scale + beta
        # New initializers (the old ones may be shared with other nodes after onnxsim's deduplication).
        w_name, b_name = f"{conv.name or conv.output[0]}.folded_weight", f"{conv.name or conv.output[0]}.folded_bias"
        graph.initializer.extend([numpy_helper.from_array(w.astype(np.float32), w_name),
                                  numpy_helper.from_array(b.astype(np.float32), b_name)])
        del conv.input[1:]
        conv.input.extend([w_name, b_name])
        for node in consumers.get(bn.output[0], []):
            for k, name in enumerate(node.input):
                if name == bn.output[0]:
                    node.input[k] = bn.input[0]
        for out in graph.output:
            if out.name == bn.output[0]:
                raise ValueError("a folded BatchNorm feeds the graph output directly")
        folded.append(bn)
    for bn in folded:
        graph.node.remove(bn)
    return len(folded)
