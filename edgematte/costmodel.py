"""What a graph costs on an Ascend 310-family chip: a per-layer model, not a measurement.

Each layer or node of the graph a route hands to its compiler (the Caffe net for the HiLens Kit's ``omg``, the
ONNX for ``atc``) becomes an :class:`Op`, and its time on the chip is

    max(compute, memory) + the per-operator overhead

- **compute**: cube work (convolutions, matrix products) at the cube's FP16 or INT8 peak, counted on the
  cube's 16-wide fractal tiles (every channel and pixel dimension rounded up to 16, a depthwise convolution
  using one channel in 16 of each tile); vector work (element-wise, pooling, resize, reductions) at the
  vector unit's peak;
- **memory**: the bytes the op reads and writes (activations and weights, 2 bytes each in FP16) at the
  board's DRAM bandwidth;
- **overhead**: a fixed time per operator the runtime launches (task dispatch and synchronisation), the one
  constant that is fitted (:data:`FIT_POINT`; see docs/performance.md for the fit and the held-out check).

Ops that the compilers fuse into the convolution before them (an activation or a per-channel affine on a
convolution's only consumer) cost nothing of their own; shape-only ops (Reshape, Flatten, Identity,
Constant) cost nothing. An op type that no AI Core kernel takes runs on the AI CPU at its own rate.

Sources of the chip constants ([C] in a public document, [I] inferred, with the reasoning):

- Ascend 310: 8 TFLOPS FP16, 16 TOPS INT8 (HiSilicon's launch page "Key Information About the Huawei Ascend
  310", 2018) [C]; two AI Cores and 128-bit LPDDR4X (Huawei's Atlas 200 DK product page, hiascend
  ``atlas200_DK_pdes_19_0007``) [C]; 3200 Mbps only in a secondary copy of that page [I], so
  128 / 8 x 3.2e9 = 51.2 GB/s.
- Ascend 310B4, Atlas 200I DK A2: one DaVinci V300 AI Core at 500 MHz, 4 TFLOPS FP16, 8 TOPS INT8, LPDDR4X
  3200 Mbps on a 64-bit bus (hiascend ``Atlas200IDKA2DeveloperKit/23.0.RC2/pd/pd_0004``) [C]: 25.6 GB/s.
- Ascend 310B1, Orange Pi AIpro 20T: 20 TOPS INT8 (the board's name and listing) [C]; FP16 at half the INT8
  rate, as on every chip above [I]; the same 64-bit LPDDR4X at 3200 Mbps as the 310B4 [I].
- Ascend 310P3, Atlas 300I Pro: 140 TOPS INT8, 70 TFLOPS FP16, LPDDR4X at 204.8 GB/s [I]: these match press
  coverage of the two-chip Atlas 300I Duo, and no source was found for 70 TFLOPS FP16 on one 310P3 (as
  checked when issue 28 was filed); kept until a board measures it.
- Vector unit: the DaVinci core's vector unit is 2048 bits wide (Liao et al., "DaVinci: A Scalable
  Architecture for Neural Network Computing", Hot Chips 31, 2019) [C], 128 FP16 lanes per cycle, while its
  cube does 16 x 16 x 16 = 4096 FP16 multiply-accumulates per cycle [C]; so the vector peak is the FP16 cube
  peak x 128 / 8192 [I].
- Fusion: CANN's graph fusion folds BatchNorm/Scale and ReLU-type activations into the convolution before
  them (the fusion-pattern lists of the ATC guide) [C for the pattern names; which cases fuse here is I].
- The DRAM model counts every op's inputs and outputs once, as if nothing stayed on chip: an upper bound
  on traffic for small maps (the 310's on-chip buffers hold a few MB) [I].
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

FP16_BYTES = 2
TILE = 16  # the cube's fractal: 16 x 16 x 16 FP16 multiply-accumulates (INT8: K is 32)
VECTOR_LANES_PER_CUBE_MAC = 128 / 8192  # 2048-bit vector (128 FP16 lanes) per 16^3 cube, both per cycle


@dataclass(frozen=True)
class Chip:
    soc_version: str
    title: str
    fp16_flops: float       # cube peak, FP16 (2 per multiply-accumulate)
    int8_ops: float         # cube peak, INT8
    dram_bytes_s: float     # the board's DRAM bandwidth
    op_overhead_s: float    # per launched operator: fitted (FIT_POINT), see docs/performance.md
    aicpu_flops: float = 2e9  # an op no AI Core kernel takes, on the AI CPU (Cortex-A55s) [I]
    sources: str = ""

    @property
    def vector_flops(self) -> float:
        return self.fp16_flops * VECTOR_LANES_PER_CUBE_MAC


# op_overhead_s: fitted on each chip's FIT_POINT (docs/performance.md, `python -m edgematte.bench.published`).
CHIPS: dict[str, Chip] = {c.soc_version: c for c in (
    Chip("Ascend310", "Ascend 310 (HiLens Kit, Atlas 200 DK / 300 / 500)", 8e12, 16e12, 51.2e9, 10.8e-6,
         sources="HiSilicon Ascend 310 launch page; Atlas 200 DK product description and specification"),
    Chip("Ascend310B4", "Ascend 310B4 (Atlas 200I DK A2, Orange Pi AIpro 8T)", 4e12, 8e12, 25.6e9, 4.0e-6,
         sources="hiascend Atlas200IDKA2DeveloperKit pd_0004 (overhead: the 310B1's, same chip family)"),
    Chip("Ascend310B1", "Ascend 310B1 (Orange Pi AIpro 20T)", 10e12, 20e12, 51.2e9, 4.0e-6,
         sources="Orange Pi AIpro 20T: 20 TOPS INT8; FP16 and memory inferred from the 310B4"),
    Chip("Ascend310P3", "Ascend 310P3 (Atlas 300I Pro / Duo)", 70e12, 140e12, 204.8e9, 3.6e-6,
         sources="Huawei Atlas 300I Pro / Duo specifications"),
)}


@dataclass
class Op:
    """One layer or node as the chip runs it."""

    name: str
    type: str
    unit: str                 # "cube", "vector", "aicpu", "fused" (into the conv before it) or "free"
    shape: tuple[int, ...]    # its (first) output
    macs: int = 0             # cube multiply-accumulates as the cube's tiles count them
    useful_macs: int = 0      # the multiply-accumulates the maths needs
    vector_ops: int = 0       # element operations on the vector unit (or the AI CPU)
    activation_bytes: int = 0  # activations read and written, FP16
    weight_bytes: int = 0     # weights read, FP16


@dataclass
class OpTime:
    op: Op
    compute_s: float
    memory_s: float
    overhead_s: float

    @property
    def seconds(self) -> float:
        return max(self.compute_s, self.memory_s) + self.overhead_s

    @property
    def bound(self) -> str:
        if self.op.unit in ("fused", "free"):
            return self.op.unit
        return "compute" if self.compute_s >= self.memory_s else "memory"


@dataclass
class Prediction:
    chip: Chip
    precision: str
    times: list[OpTime] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return sum(t.seconds for t in self.times)

    @property
    def launched(self) -> int:
        """Operators the runtime launches (not fused, not shape-only)."""
        return sum(1 for t in self.times if t.op.unit not in ("fused", "free"))

    def share(self, key) -> dict[str, float]:
        """Seconds summed by ``key(OpTime)``."""
        out: dict[str, float] = {}
        for t in self.times:
            out[key(t)] = out.get(key(t), 0.0) + t.seconds
        return out

    def top(self, n: int) -> list[OpTime]:
        return sorted(self.times, key=lambda t: -t.seconds)[:n]

    def to_dict(self, top: int = 10) -> dict:
        total = self.seconds
        return {"soc_version": self.chip.soc_version, "precision": self.precision,
                "infer_ms": round(total * 1e3, 3), "fps": round(1 / total, 1) if total else None,
                "operators": len(self.times), "launched": self.launched,
                "overhead_ms": round(sum(t.overhead_s for t in self.times) * 1e3, 3),
                "by_bound_ms": {k: round(v * 1e3, 3) for k, v in sorted(self.share(lambda t: t.bound).items())},
                "top": [{"name": t.op.name, "type": t.op.type, "shape": list(t.op.shape), "bound": t.bound,
                         "ms": round(t.seconds * 1e3, 4)} for t in self.top(top)]}


def _up(n: int, k: int = TILE) -> int:
    return -(-int(n) // k) * k


def conv_macs(n: int, cin: int, cout: int, groups: int, kernel: tuple[int, int], out_hw: tuple[int, int]
              ) -> tuple[int, int]:
    """(tile-counted, useful) multiply-accumulates of a convolution on the cube.

    The cube multiplies [M x K] by [K x N] in 16 x 16 x 16 fractals: M = output pixels, K = input channels per
    group x kernel area, N = output channels per group, each rounded up to 16. A depthwise convolution (one
    input and one output channel per group) is run on 16 channels at a time, of which each output uses one:
    it costs the MACs of a 16-channel dense convolution per 16 channels."""
    kh, kw = kernel
    m = n * out_hw[0] * out_hw[1]
    useful = m * (cin // groups) * kh * kw * cout
    if groups > 1 and cin == groups and cout == groups:
        return _up(m) * _up(cin) * TILE * kh * kw, useful
    return groups * _up(m) * _up(cin // groups) * kh * kw * _up(cout // groups), useful


def deconv_macs(n: int, cin: int, cout: int, groups: int, kernel: tuple[int, int], in_hw: tuple[int, int],
                out_hw: tuple[int, int]) -> tuple[int, int]:
    """(tile-counted, useful) multiply-accumulates of a transposed convolution on the cube.

    The compilers run it as a convolution over the input dilated by the stride (zeros inserted between the
    pixels): the HiLens table's Deconvolution buffer formula sizes that dilated width, (w - 1) * stride + 1 [C],
    so the cube multiplies the inserted zeros too: a convolution with the same kernel at the output's size [I].
    Useful work: each input pixel scatters its kernel once."""
    kh, kw = kernel
    tiled, _ = conv_macs(n, cin, cout, groups, kernel, out_hw)
    return tiled, n * in_hw[0] * in_hw[1] * cin * kh * kw * (cout // groups)


def predict(ops: list[Op], chip: Chip, precision: str = "fp16") -> Prediction:
    """The time of every op on ``chip`` (``precision``: "fp16", or "int8" for the cube's INT8 rate with
    1-byte weights and inputs to the cube)."""
    if precision not in ("fp16", "int8"):
        raise ValueError(f"precision must be fp16 or int8, not {precision!r}")
    pred = Prediction(chip, precision)
    for op in ops:
        if op.unit in ("fused", "free"):
            pred.times.append(OpTime(op, 0.0, 0.0, 0.0))
            continue
        data = op.activation_bytes + op.weight_bytes
        if op.unit == "cube":
            rate = chip.int8_ops if precision == "int8" else chip.fp16_flops
            compute = 2 * op.macs / rate
            if precision == "int8":
                data = op.activation_bytes * 0.75 + op.weight_bytes / 2  # int8 inputs, fp16 outputs (about)
        elif op.unit == "vector":
            compute = op.vector_ops / chip.vector_flops
        else:  # aicpu
            compute = op.vector_ops / chip.aicpu_flops
        pred.times.append(OpTime(op, compute, data / chip.dram_bytes_s, chip.op_overhead_s))
    return pred


# --- graphs -> ops ------------------------------------------------------------------------------------------

def _elems(shape) -> int:
    return int(math.prod(int(d) for d in shape)) if shape else 1


_FUSABLE = {"Relu", "Clip", "LeakyRelu", "BatchNormalization", "ReLU", "BatchNorm", "Scale", "PRelu"}


def _mark_fused(ops: list[Op], producer: dict[str, int], consumers: dict[str, int], bottoms: list[list[str]],
                tops: list[list[str]]) -> None:
    """An activation or per-channel affine whose one input is a cube op's output read by nothing else is fused
    into that op (one chain per conv: conv -> [BN/Scale] -> [activation])."""
    for i, op in enumerate(ops):
        if op.type not in _FUSABLE or op.unit != "vector" or len(bottoms[i]) != 1:
            continue
        src = producer.get(bottoms[i][0])
        if src is None or consumers.get(bottoms[i][0], 0) != 1:
            continue
        if ops[src].unit == "cube" or (ops[src].unit == "fused" and ops[src].type != ops[i].type):
            op.unit = "fused"


_ONNX_VECTOR_WORK = {"Sigmoid": 4, "Tanh": 4, "Exp": 2, "Sqrt": 2, "Div": 2, "Pow": 2, "Reciprocal": 2}
_ONNX_FREE = {"Reshape", "Flatten", "Identity", "Constant", "Squeeze", "Unsqueeze", "Shape", "Dropout"}
_ONNX_MOVE = {"Concat", "Split", "Slice", "Transpose", "Pad", "Gather", "Expand", "Cast"}
_ONNX_ELEMENTWISE = {"Add", "Sub", "Mul", "Div", "Relu", "Clip", "Sigmoid", "Tanh", "Max", "Min", "Sqrt", "Pow",
                     "Exp", "Reciprocal", "LeakyRelu", "PRelu", "HardSigmoid", "HardSwish", "Neg", "Abs",
                     "BatchNormalization", "Erf"}


def ops_from_onnx(proto, data_inputs: set[str] | None = None) -> list[Op]:
    """The ops of an ONNX graph with static shapes. Weights are its initializers and constants, and its graph
    inputs other than ``data_inputs`` where those are named (a graph exported without its weights)."""
    import onnx
    from onnx import numpy_helper

    inferred = onnx.shape_inference.infer_shapes(proto)
    g = inferred.graph
    shapes = {v.name: tuple(d.dim_value for d in v.type.tensor_type.shape.dim)
              for v in [*g.value_info, *g.input, *g.output]}
    consts = {t.name: tuple(t.dims) for t in g.initializer}
    for n in g.node:
        if n.op_type == "Constant":
            for a in n.attribute:
                if a.name == "value":
                    consts[n.output[0]] = tuple(numpy_helper.to_array(a.t).shape)
    weight_like = set(consts)
    if data_inputs is not None:
        weight_like |= {v.name for v in g.input if v.name not in data_inputs}
    shapes.update({k: v for k, v in consts.items() if k not in shapes})

    def attr(node, name, default):
        for a in node.attribute:
            if a.name == name:
                return onnx.helper.get_attribute_value(a)
        return default

    ops, bottoms, tops = [], [], []
    for n in g.node:
        out = shapes.get(n.output[0], ()) if n.output else ()
        ins = [x for x in n.input if x]
        data_ins = [x for x in ins if x not in weight_like]
        act = FP16_BYTES * (sum(_elems(shapes.get(x, ())) for x in data_ins) + sum(_elems(shapes.get(o, ()))
                                                                                  for o in n.output))
        wbytes = FP16_BYTES * sum(_elems(shapes.get(x, ())) for x in ins if x in weight_like)
        t = n.op_type
        op = Op(n.name or n.output[0], t, "vector", out, activation_bytes=act, weight_bytes=wbytes)
        if t in ("Conv", "ConvTranspose"):
            w = shapes[ins[1]]
            groups = int(attr(n, "group", 1))
            x = shapes[ins[0]]
            cin, cout = (x[1], w[0]) if t == "Conv" else (x[1], w[1] * groups)
            if t == "Conv":
                op.macs, op.useful_macs = conv_macs(out[0], cin, cout, groups, tuple(w[2:]), tuple(out[2:]))
            else:
                op.macs, op.useful_macs = deconv_macs(x[0], cin, cout, groups, tuple(w[2:]), tuple(x[2:]),
                                                      tuple(out[2:]))
            op.unit = "cube"
        elif t in ("Gemm", "MatMul"):
            a, b = shapes[ins[0]], shapes[ins[1]]
            k = a[-1]
            n_out = b[0] if (t == "Gemm" and attr(n, "transB", 0)) else b[-1]
            m = _elems(a) // k
            op.macs, op.useful_macs = _up(m) * _up(k) * _up(n_out), m * k * n_out
            op.unit = "cube"
        elif t in _ONNX_FREE:
            op.unit, op.activation_bytes, op.weight_bytes = "free", 0, 0
        elif t in _ONNX_MOVE:  # reads what it writes
            op.activation_bytes = 2 * FP16_BYTES * sum(_elems(shapes.get(o, ())) for o in n.output)
        elif t in _ONNX_ELEMENTWISE:
            op.vector_ops = _elems(out) * _ONNX_VECTOR_WORK.get(t, 1)
        elif t in ("MaxPool", "AveragePool"):
            k = attr(n, "kernel_shape", [1, 1])
            op.vector_ops = _elems(out) * int(math.prod(k))
        elif t in ("GlobalAveragePool", "GlobalMaxPool", "ReduceMean", "ReduceSum", "ReduceMax"):
            op.vector_ops = _elems(shapes.get(ins[0], ()))
        elif t == "InstanceNormalization":  # mean, variance, normalise: three passes over the map
            op.vector_ops = 3 * _elems(out)
        elif t == "Resize":
            op.vector_ops = 4 * _elems(out)  # bilinear: four taps
        elif t == "Softmax":
            op.vector_ops = 4 * _elems(out)
        else:
            op.unit, op.vector_ops = "aicpu", _elems(out)
        ops.append(op)
        bottoms.append(data_ins)
        tops.append(list(n.output))
    _finish(ops, bottoms, tops)
    return ops


_CAFFE_FREE = {"Reshape", "Flatten", "Input", "Split"}  # Caffe's Split only shares a blob
_CAFFE_MOVE = {"Concat", "Slice"}
_CAFFE_ELEMENTWISE = {"ReLU": 1, "Sigmoid": 4, "TanH": 4, "AbsVal": 1, "Power": 2, "BatchNorm": 1, "Scale": 1}


def ops_from_caffe(net) -> list[Op]:
    """The ops of an in-memory Caffe net (:class:`edgematte.export.caffe.net.CaffeNet`)."""
    from edgematte.runtime.caffe_files import conv_geometry

    shapes = net.shapes()
    ops, bottoms, tops = [], [], []
    for layer in net.layers:
        t, out = layer.type, shapes[layer.tops[0]]
        ins = [shapes[b] for b in layer.bottoms]
        act = FP16_BYTES * (sum(map(_elems, ins)) + sum(_elems(shapes[x]) for x in layer.tops))
        wbytes = FP16_BYTES * sum(b.size for b in layer.blobs)
        op = Op(layer.name, t, "vector", out, activation_bytes=act, weight_bytes=wbytes)
        if t in ("Convolution", "Deconvolution"):
            p = layer.param("convolution_param")
            geo = conv_geometry(p)
            groups, x = int(p.get("group", 1)), ins[0]
            if t == "Convolution":
                op.macs, op.useful_macs = conv_macs(out[0], x[1], out[1], groups, geo["kernel"], tuple(out[2:]))
            else:
                op.macs, op.useful_macs = deconv_macs(x[0], x[1], out[1], groups, geo["kernel"], tuple(x[2:]),
                                                      tuple(out[2:]))
            op.unit = "cube"
        elif t == "InnerProduct":
            k, n_out = _elems(ins[0][1:]), out[1]
            op.macs, op.useful_macs = _up(ins[0][0]) * _up(k) * _up(n_out), ins[0][0] * k * n_out
            op.unit = "cube"
        elif t in _CAFFE_FREE:
            op.unit, op.activation_bytes = "free", 0
        elif t in _CAFFE_MOVE:  # reads what it writes
            op.activation_bytes = 2 * FP16_BYTES * sum(_elems(shapes[x]) for x in layer.tops)
        elif t == "Eltwise":
            op.vector_ops = _elems(out) * max(1, len(ins) - 1)
        elif t in _CAFFE_ELEMENTWISE:
            op.vector_ops = _elems(out) * _CAFFE_ELEMENTWISE[t]
        elif t == "Pooling":
            p = layer.param("pooling_param")
            area = _elems(ins[0][2:]) if p.get("global_pooling") else math.prod(conv_geometry(p)["kernel"])
            op.vector_ops = _elems(out) * int(area)
        elif t == "Interp":
            op.vector_ops = 4 * _elems(out)
        else:
            op.unit, op.vector_ops = "aicpu", _elems(out)
        ops.append(op)
        bottoms.append(list(layer.bottoms))
        tops.append(list(layer.tops))
    _finish(ops, bottoms, tops)
    return ops


def _finish(ops, bottoms, tops) -> None:
    producer, consumers = {}, {}
    for i, ts in enumerate(tops):
        for t in ts:
            producer[t] = i
    for bs in bottoms:
        for b in bs:
            consumers[b] = consumers.get(b, 0) + 1
    _mark_fused(ops, producer, consumers, bottoms, tops)
