"""The HiLens Kit's Caffe dialect: its 42 layer types and its rules, checked on an emitted net.

Facts: ../shared/docs/ascend-hilens-facts.md §1.3 and §4 (DDK omg conversion constraints and the HiLens
"Caffe operator boundaries" table). Each problem names the layer and the rule it breaks.
"""

from __future__ import annotations

from dataclasses import dataclass

from edgematte.export.caffe.net import CaffeNet, CaffeNetError
from edgematte.runtime.caffe_files import conv_geometry

# Caffe type string -> the name in the Kit's table (where they differ, the table's spelling is kept).
KIT_LAYER_TYPES = {
    "AbsVal": "Absval", "ArgMax": "Argmax", "BatchNorm": "BatchNorm", "Concat": "Concat",
    "DepthwiseConvolution": "DepthwiseConvolution", "Convolution": "Convolution", "Crop": "Crop",
    "Deconvolution": "Deconvolution", "DetectionOutput": "DetectionOutput", "Eltwise": "Eltwise", "ELU": "Elu",
    "Exp": "Exp", "Flatten": "Flatten", "InnerProduct": "FullConnection", "Interp": "Interp", "Log": "Log",
    "LRN": "LRN", "LSTM": "LSTM", "Normalize": "Normalize", "Permute": "Permute", "Pooling": "Pooling",
    "Power": "Power", "PReLU": "Prelu", "PriorBox": "PriorBox", "Proposal": "Proposal",
    "PSROIPooling": "PSROIPooling", "ReLU": "Relu", "Reshape": "Reshape", "ROIAlign": "ROIAlign",
    "ROIPooling": "ROIPooling", "Scale": "Scale", "ShuffleChannel": "ShuffleChannel", "Sigmoid": "Sigmoid",
    "Slice": "Slice", "Softmax": "Softmax", "TanH": "Tanh", "Upsample": "Upsample",
    "SSDDetectionOutput": "SSDDetectionOutput", "Reorg": "Reorg", "Reverse": "Reverse", "LeakyRelu": "LeakyRelu",
    "YOLODetectionOutput": "YOLODetectionOutput",
}
IN_PLACE_OK = {"ReLU", "BatchNorm", "Scale", "Sigmoid", "TanH", "AbsVal", "Power", "ELU", "PReLU"}
GLOBAL_POOL_MAX_PIXELS = 10000
ELTWISE_MAX_INPUTS = 4
INTERP_MIN_AREA_RATIO = 1 / 30
CONV_LIMITS = {"kernel": (1, 255), "stride": (1, 63), "pad": (0, 255), "dilation": (1, 255)}
DECONV_BUFFER_BYTES = 1024 * 1024


def _align16(n: int) -> int:
    return -(-int(n) // 16) * 16


def deconv_buffer_bytes(weight_shape: tuple[int, ...], input_width: int, stride_w: int) -> int:
    """The on-chip buffer a Deconvolution needs on the Kit, by the HiLens table's formula (Caffe算子边界,
    Deconvolution: a = ALIGN(filter_num, 16) * ALIGN(filter_c, 16) * filter_h * filter_w * 2, halved when
    ALIGN(filter_c, 16) is a multiple of 32; b = ((input_w - 1) * stride_w + 1) * filter_h *
    ALIGN(filter_num, 16) * 4; a + b must not exceed 1024 * 1024). The table does not say which of the
    weight blob's first two dims it calls filter_num and filter_c, so both readings are taken and the larger
    wins (equal for the square kernels edgematte emits)."""
    first, second, fh, fw = (int(d) for d in weight_shape)
    conv_input_width = (int(input_width) - 1) * int(stride_w) + 1

    def need(num: int, c: int) -> int:
        a = _align16(num) * _align16(c) * fh * fw * 2
        if _align16(c) % 32 == 0:
            a //= 2
        return a + conv_input_width * fh * _align16(num) * 4

    return max(need(first, second), need(second, first))


@dataclass(frozen=True)
class RuleViolation:
    layer: str
    rule: str

    def __str__(self) -> str:
        return f"layer {self.layer!r}: {self.rule}"


def kit_rule_problems(net: CaffeNet) -> list[RuleViolation]:
    """Every way ``net`` breaks the HiLens Kit's Caffe rules (empty when omg should accept it)."""
    problems: list[RuleViolation] = []

    def bad(layer: str, rule: str) -> None:
        problems.append(RuleViolation(layer, rule))

    for name, shape in net.inputs.items():
        if len(shape) != 4 or any(int(d) <= 0 for d in shape):
            bad(name, f"inputs must be static 4-D float tensors with positive dims, got {shape}")
    for layer in net.layers:
        if layer.type not in KIT_LAYER_TYPES:
            bad(layer.name, f"type {layer.type} is not in the HiLens Kit's Caffe operator list")
    if problems:  # shapes cannot be followed through unknown layers
        return problems
    try:
        shapes = net.shapes()
    except CaffeNetError as e:
        return [RuleViolation("(net)", str(e))]

    names: set[str] = set()
    consumed: set[str] = set()
    for layer in net.layers:
        consumed.update(layer.bottoms)
        if layer.name in names:
            bad(layer.name, "layer names must be unique")
        names.add(layer.name)
        in_place = layer.tops == layer.bottoms[:len(layer.tops)]
        if in_place and layer.type not in IN_PLACE_OK:
            bad(layer.name, f"{layer.type} cannot run in place")
        if not in_place and len(layer.tops) == 1 and layer.tops[0] != layer.name:
            bad(layer.name, f"top {layer.tops[0]!r} must equal the layer name (only in-place layers may differ)")
        for top in layer.tops:
            shape = shapes[top]
            if len(shape) > 4 or any(d <= 0 for d in shape):
                bad(layer.name, f"output {top!r} has shape {shape}: at most 4-D, no zero dims")
        _check_layer(layer, [shapes[b] for b in layer.bottoms], bad)

    made = set(net.inputs) | {t for l in net.layers for t in l.tops}
    for output in net.outputs:
        if output not in made:
            bad(output, "declared output is not produced by any layer")
    for top in sorted(made - consumed - set(net.outputs)):
        bad(top, "blob is never used; omg would turn it into an extra model output")
    return problems


def _check_deconvolution(layer, p, x, bad) -> None:
    geo = conv_geometry(p)
    if int(p.get("group", 1)) != 1 or geo["dilation"] != (1, 1):
        bad(layer.name, "Deconvolution supports group 1 and dilation 1 only")
    if any(k - pad - 1 < 0 for k, pad in zip(geo["kernel"], geo["pad"])):
        bad(layer.name, f"Deconvolution needs kernel - pad - 1 >= 0, got kernel {geo['kernel']} pad {geo['pad']}")
    if layer.blobs:
        need = deconv_buffer_bytes(layer.blobs[0].shape, x[3], geo["stride"][1])
        if need > DECONV_BUFFER_BYTES:
            bad(layer.name, f"Deconvolution needs {need} bytes of on-chip buffer; the Kit's limit is "
                            f"{DECONV_BUFFER_BYTES} (fewer channels or a narrower input)")


def _check_layer(layer, ins, bad) -> None:
    t = layer.type
    if t == "BatchNorm" and layer.param("batch_norm_param").get("use_global_stats") is not True:
        bad(layer.name, "BatchNorm needs use_global_stats: true")
    if t in ("Convolution", "Deconvolution"):
        p = layer.param("convolution_param")
        for key, (lo, hi) in CONV_LIMITS.items():
            for v in conv_geometry(p)[key]:
                if not lo <= v <= hi:
                    bad(layer.name, f"{t} {key} {v} is outside [{lo}, {hi}]")
        if t == "Deconvolution":
            _check_deconvolution(layer, p, ins[0], bad)
    if t == "Eltwise" and len(layer.bottoms) > ELTWISE_MAX_INPUTS:
        bad(layer.name, f"Eltwise takes at most {ELTWISE_MAX_INPUTS} inputs, got {len(layer.bottoms)}")
    if t == "Pooling" and layer.param("pooling_param").get("global_pooling"):
        h, w = ins[0][2:]
        if h * w > GLOBAL_POOL_MAX_PIXELS:
            bad(layer.name, f"global pooling over {h}x{w} = {h * w} pixels; the limit is {GLOBAL_POOL_MAX_PIXELS}")
    if t == "Power":
        p = layer.param("power_param")
        if float(p.get("power", 1.0)) == 1.0:
            bad(layer.name, "Power with power 1 is not supported (use Scale for an affine map)")
        if float(p.get("scale", 1.0)) == 0.0 and float(p.get("shift", 0.0)) <= 0.0:
            bad(layer.name, "Power needs scale*x + shift > 0")
    if t == "Interp":
        p = layer.param("interp_param")
        if "height" not in p or "width" not in p or {"zoom_factor", "shrink_factor"} & set(p):
            bad(layer.name, "Interp must give explicit height and width (no zoom_factor/shrink_factor)")
        else:
            ratio = int(p["height"]) * int(p["width"]) / (ins[0][2] * ins[0][3])
            if ratio <= INTERP_MIN_AREA_RATIO:
                bad(layer.name, f"Interp output/input area ratio {ratio:.3f} must exceed 1/30")
    if t == "Scale" and len(layer.bottoms) == 2:
        p = layer.param("scale_param")
        axis = int(p.get("axis", 1))
        want = ins[0][axis:axis + len(ins[1])]
        if tuple(ins[1]) != tuple(want):
            bad(layer.name, f"Scale's second input {ins[1]} does not match the first's dims {want} from axis {axis}")
    if t == "Concat" and int(layer.param("concat_param").get("axis", 1)) < 0 and len(ins[0]) != 4:
        bad(layer.name, "Concat axis may be negative only on 4-D inputs")
