"""Lower the verified ONNX graph, op by op, onto the HiLens Kit's Caffe layers.

Every lowering is exact in real arithmetic (the float error is measured by verification):

- ``Clip(0, 6)`` (ReLU6, not on the Kit): ``ReLU(x) - ReLU(x - 6)``. Where ``x`` is a convolution's output
  that nothing else reads, ``x - 6`` is a second convolution with the same weights and the bias lowered by
  6, so both ReLUs follow a convolution (the compilers fuse them into it) and no full-size Scale pass is
  needed; otherwise ``x - 6`` comes from a Scale. (Chosen by the device cost model,
  :mod:`edgematte.costmodel`; docs/performance.md has the predicted gain.)
- ``InstanceNormalization`` (not on the Kit): mean by average pooling, broadcast back by an ``Interp`` of the
  1×1 mean to H×W (corner-aligned interpolation from one sample copies it: exact), ``Eltwise`` difference
  and square, ``Power(-0.5)`` for the reciprocal std, two-input Scale. A mean over more than 10000 pixels
  first average-pools with kernel = stride (exact when it divides).
- SE's channel multiply: ``Flatten`` the (1, C, 1, 1) gate, then a two-input Scale (axis 0).
- Bilinear ×1/2 with half-pixel centres: 2×2 average pooling. ×1/4: a fixed 4×4, stride-4 depthwise
  convolution with 0.25 on the centre 2×2.
- Bilinear ×2 with half-pixel centres (MODNet's own resize), whichever of two exact lowerings the device
  cost model predicts cheaper on the Kit's chip (:func:`cheaper_x2_upsample`):
  - ``deconv``: replicate-pad the input by one sample (``Slice`` + ``Concat``, at the input's size), then a
    ``Deconvolution`` k4 s2 p3 whose dense C×C kernel holds ``[.25 .75 .75 .25]⊗[.25 .75 .75 .25]`` on its
    diagonal (the Kit takes group 1 only). Output 2k is 0.75·x[k] + 0.25·x[k-1], output 2k+1 is 0.75·x[k] +
    0.25·x[k+1], the padded samples giving PyTorch's clamped edges. Only where the kernel fits the Kit's
    Deconvolution buffer (:func:`edgematte.export.caffe.rules.deconv_buffer_bytes`): at most 96 channels
    on a map 256 samples wide, 224 on one 16 wide.
  - ``interp``: align-corners ``Interp`` to 2N-1 samples (positions 0, 1/2, 1, ... of the input),
    replicate-pad by one sample, then a 2×2, stride-1 average pool. Averaging two neighbours of a linear
    interpolant gives its value half-way, at k/2 - 1/4: exactly the half-pixel grid, edges clamped.
    Six passes at the output's size, but no C×C work: the cheaper one for wide maps (MODNet's 1280
    channels at 1/32).
- Any resize with ``align_corners=True``: one ``Interp`` with explicit height and width.
- ``Clip(lo, +inf)`` with ``lo != 0`` (M-Net's exact step, :mod:`edgematte.model.unpool`): ``Eltwise MAX``
  with a constant map of ``lo`` (a map of ones from ``Power`` with power 0, then a ``Scale`` by ``lo``;
  made once per shape and value). Exact: ``max`` does not round.
- ``MaxPool`` without padding: ``Pooling MAX`` (Caffe's ceil-mode size must equal ONNX's floor size).
- ``Reshape`` to a constant shape: ``Reshape`` with every dimension written out (the Kit wants static shapes).
"""

from __future__ import annotations

import functools
import re
from typing import Callable

import numpy as np

from edgematte.export.caffe.net import CaffeNet, Enum
from edgematte.export.caffe.rules import DECONV_BUFFER_BYTES, GLOBAL_POOL_MAX_PIXELS, deconv_buffer_bytes

X2_UPSAMPLES = ("deconv", "interp")  # the exact lowerings of a half-pixel x2 resize, named as in the docstring


class LoweringError(ValueError):
    """An ONNX node that has no exact lowering onto the Kit's layers."""


def _attrs(node) -> dict:
    import onnx

    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _layer_name(text: str) -> str:
    """A readable Caffe name from an ONNX node name (``/hr_branch/conv_hr4x.0/Conv`` -> ``hr_branch.conv_hr4x.0.Conv``)."""
    return re.sub(r"[^A-Za-z0-9_.]+", ".", text).strip(".") or "layer"


class OnnxToCaffe:
    """Builds a :class:`CaffeNet` from an ONNX model with static shapes (see :mod:`edgematte.export.onnx`)."""

    def __init__(self, proto, name: str = "modnet4", x2_upsample: str | None = None):
        """``x2_upsample``: one of :data:`X2_UPSAMPLES` for every half-pixel x2 resize, or None for the one
        the cost model predicts cheaper, resize by resize."""
        import onnx

        if x2_upsample not in (None, *X2_UPSAMPLES):
            raise ValueError(f"x2_upsample must be one of {X2_UPSAMPLES} or None, not {x2_upsample!r}")
        self.x2_upsample = x2_upsample
        self.proto = proto
        self.consts: dict[str, np.ndarray] = {i.name: onnx.numpy_helper.to_array(i) for i in proto.graph.initializer}
        inputs = {i.name: tuple(d.dim_value for d in i.type.tensor_type.shape.dim)
                  for i in proto.graph.input if i.name not in self.consts}
        self.net = CaffeNet(name, inputs, outputs=[o.name for o in proto.graph.output])
        self.blob: dict[str, str] = {n: n for n in inputs}  # ONNX tensor -> Caffe blob
        self._names: set[str] = set(inputs)
        self._node = None
        self._constant_maps: dict[tuple, str] = {}  # (shape, value) -> blob holding that value everywhere
        self._readers: dict[str, int] = {}  # ONNX tensor -> how many nodes read it
        for n in proto.graph.node:
            for i in n.input:
                self._readers[i] = self._readers.get(i, 0) + 1

    # -- helpers -------------------------------------------------------------------------------------------
    def _unique(self, base: str) -> str:
        name, i = base, 1
        while name in self._names:
            i += 1
            name = f"{base}_{i}"
        self._names.add(name)
        return name

    def _add(self, type: str, bottoms: list[str], suffix: str = "", params=None, blobs=None, tops: int = 1,
             final: bool = False) -> list[str]:
        """Add a layer for the current node; ``final`` layers make the node's output (named after it
        when it is a graph output, so the Caffe output blob keeps the ONNX name)."""
        node = self._node
        out = node.output[0]
        if final and out in self.net.outputs:
            name = out
            self._names.add(name)
        else:
            name = self._unique(_layer_name(node.name or out) + (f".{suffix}" if suffix else ""))
        return self.net.add(type, bottoms, name, params, blobs, tops, origin=f"{node.op_type} {node.name}")

    def _shape(self, blob: str) -> tuple[int, ...]:
        return self.net.shape_of(blob)

    def _input(self, i: int) -> str:
        return self.blob[self._node.input[i]]

    def _const(self, i: int) -> np.ndarray | None:
        node = self._node
        return self.consts.get(node.input[i]) if i < len(node.input) else None

    def _fail(self, why: str):
        node = self._node
        raise LoweringError(f"ONNX node {node.name or node.output[0]!r} ({node.op_type}): {why}")

    # -- driver --------------------------------------------------------------------------------------------
    def lower(self) -> CaffeNet:
        import onnx

        handlers: dict[str, Callable] = {
            "Conv": self._conv, "Relu": self._relu, "Clip": self._clip, "Sigmoid": self._sigmoid,
            "Add": self._add_sub, "Sub": self._add_sub, "Mul": self._mul, "Concat": self._concat,
            "Split": self._split, "BatchNormalization": self._batchnorm,
            "InstanceNormalization": self._instancenorm, "GlobalAveragePool": self._global_avg,
            "Resize": self._resize, "MaxPool": self._maxpool, "Reshape": self._reshape,
        }
        for node in self.proto.graph.node:
            self._node = node
            if node.op_type == "Constant":
                self.consts[node.output[0]] = onnx.numpy_helper.to_array(_attrs(node)["value"])
                continue
            handler = handlers.get(node.op_type)
            if handler is None:
                self._fail("no lowering onto the HiLens Kit's Caffe layers")
            tops = handler(node)
            for onnx_name, top in zip(node.output, tops):
                self.blob[onnx_name] = top
        self._node = None
        return self.net

    # -- ops -----------------------------------------------------------------------------------------------
    def _conv(self, node):
        a = _attrs(node)
        w, b = self._const(1), self._const(2)
        if w is None or w.ndim != 4:
            self._fail("weights must be a constant 4-D tensor")
        pads = list(a.get("pads", [0, 0, 0, 0]))
        if pads[:2] != pads[2:]:
            self._fail(f"asymmetric padding {pads} has no Caffe equivalent")
        p = _conv_param(w.shape[0], w.shape[2:], a.get("strides", [1, 1]), pads[:2], a.get("dilations", [1, 1]),
                        int(a.get("group", 1)), b is not None)
        blobs = [w] + ([b] if b is not None else [])
        return self._add("Convolution", [self._input(0)], params={"convolution_param": p}, blobs=blobs, final=True)

    def _relu(self, node):
        concat = self._sole_layer(node.input[0], "Concat")
        if concat is not None and int(concat.param("concat_param").get("axis", 1)) == 1:
            # ReLU(Concat(a, b)) = Concat(ReLU(a), ReLU(b)): a ReLU on a convolution's output fuses into it
            self.net.layers.remove(concat)
            parts = [self._add("ReLU", [b], f"relu{i}")[0] for i, b in enumerate(concat.bottoms)]
            return self._add("Concat", parts, "", params=concat.params, final=True)
        return self._add("ReLU", [self._input(0)], final=True)

    def _sigmoid(self, node):
        return self._add("Sigmoid", [self._input(0)], final=True)

    def _clip(self, node):
        lo, hi = self._const(1), self._const(2)
        a = _attrs(node)
        lo = float(lo) if lo is not None else float(a.get("min", -np.inf))
        hi = float(hi) if hi is not None else float(a.get("max", np.inf))
        x = self._input(0)
        if lo != 0.0 and hi == np.inf and np.isfinite(lo):
            return self._add("Eltwise", [x, self._constant_map(x, lo)],
                             params={"eltwise_param": {"operation": Enum("MAX")}}, final=True)
        if lo != 0.0:
            self._fail(f"Clip({lo}, {hi}) is lowered only with a lower bound of 0 or no upper bound")
        if hi == np.inf:
            return self._add("ReLU", [x], final=True)
        conv = self._sole_conv(node.input[0])
        if conv is not None:  # x - hi as a second convolution with the bias lowered by hi: both ReLUs fuse
            w, *b = conv.blobs
            bias = (b[0] if b else np.zeros(w.shape[0], np.float32)) - np.float32(hi)
            params = {"convolution_param": {**conv.param("convolution_param"), "bias_term": True}}
            shifted = self._add("Convolution", [conv.bottoms[0]], f"conv_minus{hi:g}", params=params,
                                blobs=[w, bias])[0]
        else:
            channels = self._shape(x)[1]
            shifted = self._scale_const(x, np.ones(channels), np.full(channels, -hi), f"minus{hi:g}")
        low = self._add("ReLU", [x], "relu")[0]
        high = self._add("ReLU", [shifted], f"relu_minus{hi:g}")[0]
        return self._add("Eltwise", [low, high],
                         params={"eltwise_param": {"operation": Enum("SUM"), "coeff": [1.0, -1.0]}}, final=True)

    def _sole_conv(self, tensor: str):
        """The Convolution layer that makes ONNX ``tensor``, where nothing but the current node reads it."""
        return self._sole_layer(tensor, "Convolution")

    def _sole_layer(self, tensor: str, kind: str):
        """The one-top ``kind`` layer that makes ONNX ``tensor``, where nothing but the current node reads it."""
        if self._readers.get(tensor, 0) != 1 or tensor in self.net.outputs:
            return None
        blob = self.blob.get(tensor)
        layer = next((l for l in reversed(self.net.layers) if blob in l.tops), None)
        return layer if layer is not None and layer.type == kind and len(layer.tops) == 1 else None

    def _scale_const(self, x: str, scale: np.ndarray, bias: np.ndarray | None, suffix: str, final=False):
        params = {"scale_param": {"axis": 1, "num_axes": 1, "bias_term": bias is not None}}
        blobs = [scale] + ([bias] if bias is not None else [])
        return self._add("Scale", [x], suffix, params=params, blobs=blobs, final=final)[0]

    def _constant_map(self, like: str, value: float) -> str:
        """A blob of ``like``'s shape holding ``value`` everywhere (made once per shape and value)."""
        shape = self._shape(like)
        key = (shape, value)
        if key not in self._constant_maps:
            ones = self._add("Power", [like], "ones", params={"power_param": {"power": 0.0, "scale": 0.0,
                                                                             "shift": 1.0}})[0]
            self._constant_maps[key] = self._scale_const(ones, np.full(shape[1], value), None, f"const{value:g}")
        return self._constant_maps[key]

    def _maxpool(self, node):
        a = _attrs(node)
        kernel, strides = list(a["kernel_shape"]), list(a.get("strides", [1, 1]))
        if any(a.get("pads", [0, 0, 0, 0])) or a.get("ceil_mode", 0) or any(d != 1 for d in a.get("dilations", [1, 1])):
            self._fail("MaxPool with padding, ceil_mode or dilation is not lowered")
        if len(node.output) > 1 and node.output[1]:
            self._fail("MaxPool's Indices output has no equivalent on the Kit (export M-Net index-free)")
        x = self._input(0)
        size = self._shape(x)[2:]
        floor = [(n - k) // s + 1 for n, k, s in zip(size, kernel, strides)]
        ceil = [-(-(n - k) // s) + 1 for n, k, s in zip(size, kernel, strides)]
        if floor != ceil:
            self._fail(f"MaxPool of {size[0]}x{size[1]} by {kernel}/{strides} leaves a partial window, which "
                       f"Caffe keeps and ONNX drops")
        p = {"pool": Enum("MAX")}
        for key, (vh, vw) in (("kernel", kernel), ("stride", strides)):
            if vh == vw:
                p["kernel_size" if key == "kernel" else key] = int(vh)
            else:
                p[f"{key}_h"], p[f"{key}_w"] = int(vh), int(vw)
        return self._add("Pooling", [x], params={"pooling_param": p}, final=True)

    def _reshape(self, node):
        x = self._input(0)
        target = self._const(1)
        if target is None:
            self._fail("reshape needs a constant shape")
        dims = [int(d) for d in target]
        shape = self._shape(x)
        dims = [shape[i] if d == 0 else d for i, d in enumerate(dims)]
        if -1 in dims:
            dims[dims.index(-1)] = int(np.prod(shape)) // -int(np.prod(dims))
        if int(np.prod(dims)) != int(np.prod(shape)) or len(dims) != 4:
            self._fail(f"reshape of {shape} to {dims} (only 4-D to 4-D with the same size is lowered)")
        return self._add("Reshape", [x], params={"reshape_param": {"shape": {"dim": dims}}}, final=True)

    def _scalar_operand(self) -> tuple[str, float | None]:
        """(the tensor operand's blob, the other operand as a scalar constant or None)."""
        for i in (1, 0):
            c = self._const(i)
            if c is not None:
                if c.size != 1:
                    self._fail(f"constant operand of shape {c.shape} (only scalars are lowered)")
                return self._input(1 - i), float(c.reshape(()))
        return "", None

    def _add_sub(self, node):
        x, c = self._scalar_operand()
        sign = -1.0 if node.op_type == "Sub" else 1.0
        if c is not None:
            if node.op_type == "Sub" and self._const(0) is not None:
                self._fail("constant minus tensor is not lowered")
            channels = self._shape(x)[1]
            return [self._scale_const(x, np.ones(channels), np.full(channels, sign * c), "", final=True)]
        a, b = self._input(0), self._input(1)
        if self._shape(a) != self._shape(b):
            self._fail(f"broadcasting {node.op_type} of {self._shape(a)} and {self._shape(b)}")
        return self._add("Eltwise", [a, b],
                         params={"eltwise_param": {"operation": Enum("SUM"), "coeff": [1.0, sign]}}, final=True)

    def _mul(self, node):
        x, c = self._scalar_operand()
        if c is not None:
            return [self._scale_const(x, np.full(self._shape(x)[1], c), None, "", final=True)]
        a, b = self._input(0), self._input(1)
        sa, sb = self._shape(a), self._shape(b)
        if sa == sb:
            return self._add("Eltwise", [a, b], params={"eltwise_param": {"operation": Enum("PROD")}}, final=True)
        if sa[2:] == (1, 1) and sb[2:] != (1, 1):
            a, b, sa, sb = b, a, sb, sa
        if sb != (sa[0], sa[1], 1, 1):
            self._fail(f"broadcasting Mul of {sa} and {sb}")
        return [self._channel_scale(a, b, final=True)]

    def _channel_scale(self, x: str, gate: str, suffix: str = "", final: bool = False) -> str:
        """x (N, C, H, W) times gate (N, C, 1, 1): Flatten the gate to (N, C), then a two-input Scale."""
        flat = self._add("Flatten", [gate], f"{suffix}flatten" if suffix else "gate_flatten")[0]
        return self._add("Scale", [x, flat], suffix, params={"scale_param": {"axis": 0}}, final=final)[0]

    def _concat(self, node):
        axis = int(_attrs(node).get("axis", 1))
        return self._add("Concat", [self.blob[i] for i in node.input], params={"concat_param": {"axis": axis}},
                         final=True)

    def _split(self, node):
        a = _attrs(node)
        x = self._input(0)
        axis = int(a.get("axis", 0))
        sizes = list(a.get("split", []))
        if not sizes:
            dim = self._shape(x)[axis]
            sizes = [dim // len(node.output)] * len(node.output)
        points = list(np.cumsum(sizes)[:-1].astype(int))
        conv = self._sole_conv(node.input[0])
        if conv is not None and axis == 1 and int(conv.param("convolution_param").get("group", 1)) == 1:
            # Split(Conv(x)) along channels = one convolution per piece: no Slice pass over the map
            self.net.layers.remove(conv)
            w, *b = conv.blobs
            tops = []
            for i, (lo, hi) in enumerate(zip([0, *points], [*points, w.shape[0]])):
                params = {"convolution_param": {**conv.param("convolution_param"), "num_output": int(hi - lo)}}
                tops += self._add("Convolution", list(conv.bottoms), f"conv{i}", params=params,
                                  blobs=[w[lo:hi]] + ([b[0][lo:hi]] if b else []))
            return tops
        return self._add("Slice", [x], params={"slice_param": {"axis": axis, "slice_point": points}},
                         tops=len(node.output))

    def _batchnorm(self, node):
        eps = float(_attrs(node).get("epsilon", 1e-5))
        gamma, beta, mean, var = (self._const(i) for i in range(1, 5))
        if any(v is None for v in (gamma, beta, mean, var)):
            self._fail("BatchNormalization needs constant statistics")
        normed = self._add("BatchNorm", [self._input(0)], "bn",
                           params={"batch_norm_param": {"use_global_stats": True, "eps": eps}},
                           blobs=[mean, var, np.ones(1)])[0]
        return [self._scale_const(normed, gamma, beta, "", final=True)]

    def _mean_hw(self, x: str, suffix: str) -> str:
        """Per-channel mean over H×W as (N, C, 1, 1), within the Kit's global-pooling limit."""
        _, _, h, w = self._shape(x)
        k = exact_mean_kernel(h, w)
        if k != 1:
            if k is None:
                self._fail(f"a mean over {h}x{w} cannot be split into exact poolings under "
                           f"{GLOBAL_POOL_MAX_PIXELS} pixels")
            x = self._add("Pooling", [x], f"{suffix}_pool{k}", params={"pooling_param": {
                "pool": Enum("AVE"), "kernel_size": k, "stride": k}})[0]
        return self._add("Pooling", [x], suffix, params={"pooling_param": {
            "pool": Enum("AVE"), "global_pooling": True}})[0]

    def _global_avg(self, node):
        x = self._input(0)
        _, _, h, w = self._shape(x)
        if h * w <= GLOBAL_POOL_MAX_PIXELS:
            return self._add("Pooling", [x], params={"pooling_param": {"pool": Enum("AVE"), "global_pooling": True}},
                             final=True)
        return [self._mean_hw(x, "mean")]

    def _instancenorm(self, node):
        eps = float(_attrs(node).get("epsilon", 1e-5))
        gamma, beta = self._const(1), self._const(2)
        if gamma is None or beta is None:
            self._fail("InstanceNormalization needs constant scale and bias")
        x = self._input(0)
        _, _, h, w = self._shape(x)
        mean = self._mean_hw(x, "in_mean")
        mean_map = self._interp(mean, h, w, "in_mean_map")[0]  # a 1x1 Interp copies its one sample: exact
        centred = self._add("Eltwise", [x, mean_map], "in_centred", params={"eltwise_param": {
            "operation": Enum("SUM"), "coeff": [1.0, -1.0]}})[0]
        square = self._add("Eltwise", [centred, centred], "in_square", params={"eltwise_param": {
            "operation": Enum("PROD")}})[0]
        var = self._mean_hw(square, "in_var")
        rstd = self._add("Power", [var], "in_rstd", params={"power_param": {"power": -0.5, "scale": 1.0, "shift": eps}})[0]
        affine = not (np.all(gamma == 1) and np.all(beta == 0))
        normed = self._channel_scale(centred, rstd, "in_normed" if affine else "", final=not affine)
        if affine:
            return [self._scale_const(normed, gamma, beta, "", final=True)]
        return [normed]

    def _resize(self, node):
        a = _attrs(node)
        x = self._input(0)
        n, c, h, w = self._shape(x)
        scales, sizes = self._const(2), self._const(3)
        if sizes is not None and sizes.size == 4:
            oh, ow = int(sizes[2]), int(sizes[3])
        elif scales is not None and scales.size == 4:
            if tuple(scales[:2]) != (1.0, 1.0):
                self._fail(f"resize scales {scales.tolist()} change N or C")
            oh, ow = int(np.floor(h * scales[2])), int(np.floor(w * scales[3]))
        else:
            self._fail("resize needs constant scales or sizes")
        mode = a.get("mode", b"nearest").decode()
        ctm = a.get("coordinate_transformation_mode", b"half_pixel").decode()
        if mode != "linear":
            self._fail(f"resize mode {mode!r} (only bilinear is lowered)")
        if ctm == "align_corners":
            return self._interp(x, oh, ow, "", final=True)
        if ctm not in ("half_pixel", "pytorch_half_pixel"):
            self._fail(f"coordinate_transformation_mode {ctm!r} has no exact lowering")
        if (oh, ow) == (h // 2, w // 2) and h % 2 == 0 and w % 2 == 0:
            return self._add("Pooling", [x], params={"pooling_param": {"pool": Enum("AVE"), "kernel_size": 2,
                                                                       "stride": 2}}, final=True)
        if (oh, ow) == (h // 4, w // 4) and h % 4 == 0 and w % 4 == 0:
            kernel = np.zeros((c, 1, 4, 4), np.float32)
            kernel[:, :, 1:3, 1:3] = 0.25
            p = _conv_param(c, (4, 4), (4, 4), (0, 0), (1, 1), c, False)
            return self._add("Convolution", [x], params={"convolution_param": p}, blobs=[kernel], final=True)
        if (oh, ow) == (2 * h, 2 * w):
            if (self.x2_upsample or cheaper_x2_upsample(c, h, w)) == "deconv":
                if not bilinear_x2_deconv_fits(c, w):
                    self._fail(f"a {c}-channel Deconvolution exceeds the Kit's on-chip buffer")
                padded = self._replicate_pad(self._replicate_pad(x, 2), 3)
                p = _conv_param(c, (4, 4), (2, 2), (3, 3), (1, 1), 1, False)
                return self._add("Deconvolution", [padded], params={"convolution_param": p},
                                 blobs=[bilinear_x2_kernel(c)], final=True)
            dense = self._interp(x, 2 * h - 1, 2 * w - 1, "interp")[0]
            padded = self._replicate_pad(self._replicate_pad(dense, 2), 3)
            return self._add("Pooling", [padded], params={"pooling_param": {"pool": Enum("AVE"), "kernel_size": 2,
                                                                            "stride": 1}}, final=True)
        self._fail(f"half-pixel resize {h}x{w} -> {oh}x{ow} (exact lowerings exist for x1/2, x1/4 and x2)")

    def _interp(self, x: str, height: int, width: int, suffix: str, final: bool = False) -> list[str]:
        return self._add("Interp", [x], suffix, params={"interp_param": {"height": height, "width": width}},
                         final=final)

    def _replicate_pad(self, x: str, axis: int) -> str:
        """x with its first and last sample along ``axis`` repeated once (Slice + Concat)."""
        size = self._shape(x)[axis]
        tag = "h" if axis == 2 else "w"
        if size == 1:
            parts = [x, x, x]
        else:
            points = [1] if size == 2 else [1, size - 1]
            pieces = self._add("Slice", [x], f"pad{tag}_slice", params={"slice_param": {
                "axis": axis, "slice_point": points}}, tops=len(points) + 1)
            parts = [pieces[0], *pieces, pieces[-1]]
        return self._add("Concat", parts, f"pad{tag}", params={"concat_param": {"axis": axis}})[0]


def _conv_param(num_output: int, kernel, stride, pad, dilation, group: int, bias: bool) -> dict:
    p: dict = {"num_output": int(num_output), "bias_term": bool(bias)}
    for key, (vh, vw) in (("kernel", kernel), ("stride", stride), ("pad", pad), ("dilation", dilation)):
        vh, vw = int(vh), int(vw)
        default = 0 if key == "pad" else 1
        if vh == vw:
            if vh != default or key == "kernel":
                p["kernel_size" if key == "kernel" else key] = vh
        elif key == "dilation":  # Caffe has no dilation_h/_w; the repeated field takes (h, w)
            p[key] = [vh, vw]
        else:
            p[f"{key}_h"], p[f"{key}_w"] = vh, vw
    if group != 1:
        p["group"] = group
    return p


def bilinear_x2_kernel(channels: int) -> np.ndarray:
    """The Deconvolution weights (C_in, C_out, 4, 4) of a per-channel half-pixel x2 upsample, dense C×C."""
    taps = np.array([0.25, 0.75, 0.75, 0.25], np.float32)
    kernel = np.zeros((channels, channels, 4, 4), np.float32)
    kernel[np.arange(channels), np.arange(channels)] = np.outer(taps, taps)
    return kernel


def bilinear_x2_deconv_fits(channels: int, width: int) -> bool:
    """Whether the ``deconv`` lowering of a ``channels``-wide map ``width`` samples wide (before its
    replicate pad) fits the Kit's Deconvolution buffer."""
    return deconv_buffer_bytes((channels, channels, 4, 4), width + 2, 2) <= DECONV_BUFFER_BYTES


@functools.lru_cache(maxsize=None)
def cheaper_x2_upsample(channels: int, height: int, width: int) -> str:
    """The exact x2 lowering (:data:`X2_UPSAMPLES`) with the lower predicted time on the Kit's chip, by the
    device cost model (:mod:`edgematte.costmodel`), for a (1, channels, height, width) input."""
    if not bilinear_x2_deconv_fits(channels, width):
        return "interp"
    from onnx import TensorProto, helper

    from edgematte.costmodel import CHIPS, ops_from_caffe, predict
    from edgematte.compilers import OMG
    from edgematte.devices import families_compiled_by

    chip = CHIPS[next(d.soc_version for d in families_compiled_by(OMG))]
    shape = (1, channels, height, width)
    node = helper.make_node("Resize", ["x", "", "scales"], ["y"], name="up", mode="linear",
                            coordinate_transformation_mode="half_pixel")
    graph = helper.make_graph([node], "up", [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                              [helper.make_tensor("scales", TensorProto.FLOAT, [4], [1, 1, 2, 2])])
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    cost = {how: predict(ops_from_caffe(OnnxToCaffe(proto, "up", how).lower()), chip).seconds
            for how in X2_UPSAMPLES}
    return min(X2_UPSAMPLES, key=cost.__getitem__)


def exact_mean_kernel(h: int, w: int) -> int | None:
    """The average-pooling kernel (= stride) that brings an h×w map within the Kit's global-pooling limit
    exactly (1: none needed; None: no exact split exists)."""
    if h * w <= GLOBAL_POOL_MAX_PIXELS:
        return 1
    return next((k for k in range(2, min(h, w) + 1)
                 if h % k == 0 and w % k == 0 and (h // k) * (w // k) <= GLOBAL_POOL_MAX_PIXELS), None)


def lower_onnx(proto, name: str = "modnet4", fold: bool = True, x2_upsample: str | None = None) -> CaffeNet:
    """The Caffe net for ``proto``; with ``fold``, IBNorm's BatchNorm half is first folded into its
    convolution (see :mod:`edgematte.export.caffe.folding`; ``proto`` itself is not changed).
    ``x2_upsample``: see :class:`OnnxToCaffe`."""
    if fold:
        import onnx

        from edgematte.export.caffe.folding import fold_split_batchnorm

        proto = onnx.ModelProto.FromString(proto.SerializeToString())
        fold_split_batchnorm(proto)
    return OnnxToCaffe(proto, name, x2_upsample).lower()
