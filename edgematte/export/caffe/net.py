"""An in-memory Caffe net: layers with their parameters and weights, and shape inference.

Parameters are kept as the prototxt has them: ``{"convolution_param": {"num_output": 32, ...}}``.
Enum values (``pool: AVE``) are :class:`Enum` so the writer prints them bare.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from edgematte.runtime.caffe_files import conv_geometry


class Enum(str):
    """A protobuf enum value (printed without quotes)."""


@dataclass
class CaffeLayer:
    name: str
    type: str
    bottoms: list[str]
    tops: list[str]
    params: dict[str, dict] = field(default_factory=dict)
    blobs: list[np.ndarray] = field(default_factory=list)
    origin: str = ""  # the ONNX node this layer lowers, for messages

    def param(self, key: str) -> dict:
        return self.params.get(key, {})


class CaffeNetError(ValueError):
    pass


@dataclass
class CaffeNet:
    name: str
    inputs: dict[str, tuple[int, ...]]
    layers: list[CaffeLayer] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    _shape_cache: dict = field(default_factory=dict, repr=False, compare=False)

    def shape_of(self, blob: str) -> tuple[int, ...]:
        """The shape of a blob made so far (computed as layers are added)."""
        if blob in self.inputs:
            return tuple(self.inputs[blob])
        return self._shape_cache[blob]

    def add(self, type: str, bottoms: list[str], name: str, params: dict | None = None,
            blobs: list[np.ndarray] | None = None, tops: int = 1, origin: str = "") -> list[str]:
        """Append a layer whose top(s) are named after it (``name``, or ``name.0``, ``name.1``, ...)."""
        if any(l.name == name for l in self.layers) or name in self.inputs:
            raise CaffeNetError(f"duplicate layer name {name!r}")
        top_names = [name] if tops == 1 else [f"{name}.{i}" for i in range(tops)]
        layer = CaffeLayer(name, type, list(bottoms), top_names, params or {},
                           [np.ascontiguousarray(b, np.float32) for b in blobs or []], origin)
        try:
            shapes = infer_shapes(layer, [self.shape_of(b) for b in layer.bottoms])
        except (KeyError, IndexError, ValueError) as e:
            raise CaffeNetError(f"layer {name!r} ({type}): {e}") from None
        self.layers.append(layer)
        self._shape_cache.update(zip(top_names, shapes))
        return top_names

    def shapes(self) -> dict[str, tuple[int, ...]]:
        """The shape of every blob, in layer order. Raises CaffeNetError naming the layer that fails."""
        shapes = dict(self.inputs)
        for layer in self.layers:
            missing = [b for b in layer.bottoms if b not in shapes]
            if missing:
                raise CaffeNetError(f"layer {layer.name!r} ({layer.type}) reads {missing[0]!r} before it is made")
            try:
                outs = infer_shapes(layer, [shapes[b] for b in layer.bottoms])
            except (KeyError, IndexError, ValueError) as e:
                raise CaffeNetError(f"layer {layer.name!r} ({layer.type}): {e}") from None
            shapes.update(zip(layer.tops, outs))
        return shapes

    def parameter_count(self) -> int:
        return int(sum(b.size for l in self.layers for b in l.blobs))


def pool_output(size: int, kernel: int, stride: int, pad: int) -> int:
    """Caffe's pooled size (ceil mode, then the last window must start inside the padded input)."""
    out = int(math.ceil((size + 2 * pad - kernel) / stride)) + 1
    if pad and (out - 1) * stride >= size + pad:
        out -= 1
    return out


def infer_shapes(layer: CaffeLayer, ins: list[tuple[int, ...]]) -> list[tuple[int, ...]]:
    t, x = layer.type, ins[0]
    if t in ("ReLU", "Sigmoid", "TanH", "Power", "BatchNorm", "Scale", "AbsVal"):
        return [x]
    if t == "Eltwise":
        if any(s != x for s in ins):
            raise ValueError(f"Eltwise inputs differ in shape: {ins}")
        return [x]
    if t in ("Convolution", "Deconvolution"):
        p = layer.param("convolution_param")
        g = conv_geometry(p)
        hw = []
        for i, size in enumerate(x[2:]):
            k, s, pad, d = g["kernel"][i], g["stride"][i], g["pad"][i], g["dilation"][i]
            ext = d * (k - 1) + 1
            hw.append((size + 2 * pad - ext) // s + 1 if t == "Convolution" else s * (size - 1) + ext - 2 * pad)
        return [(x[0], int(p["num_output"]), *hw)]
    if t == "Pooling":
        p = layer.param("pooling_param")
        if p.get("global_pooling"):
            return [(x[0], x[1], 1, 1)]
        g = conv_geometry(p)
        return [(x[0], x[1], *(pool_output(x[2 + i], g["kernel"][i], g["stride"][i], g["pad"][i]) for i in (0, 1)))]
    if t == "Interp":
        p = layer.param("interp_param")
        return [(x[0], x[1], int(p["height"]), int(p["width"]))]
    if t == "Concat":
        axis = int(layer.param("concat_param").get("axis", 1)) % len(x)
        out = list(x)
        out[axis] = sum(s[axis] for s in ins)
        return [tuple(out)]
    if t == "Slice":
        p = layer.param("slice_param")
        axis = int(p.get("axis", 1)) % len(x)
        points = [0, *map(int, p.get("slice_point", [])), x[axis]]
        outs = []
        for a, b in zip(points, points[1:]):
            s = list(x)
            s[axis] = b - a
            outs.append(tuple(s))
        return outs
    if t == "Flatten":
        return [(x[0], int(np.prod(x[1:])))]
    if t == "Reshape":
        dims = [int(d) for d in layer.param("reshape_param")["shape"]["dim"]]
        dims = [x[i] if d == 0 else d for i, d in enumerate(dims)]
        if -1 in dims:
            dims[dims.index(-1)] = int(np.prod(x)) // -int(np.prod(dims))
        return [tuple(dims)]
    raise ValueError(f"no shape rule for layer type {t}")
