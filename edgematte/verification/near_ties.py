"""M-Net's check, flip-aware: which pooling windows a reader decided otherwise than PyTorch, whether rounding can
explain each, and which alpha pixels those decisions may move.

Max-unpooling puts each decoder value where its 2×2 pooling window's maximum was. Where two of a window's values
are within rounding of each other, which one wins depends on how an implementation rounds, and the value lands
one pixel over: a jump in the alpha that no tolerance from FP32 noise covers. A fixed share of pixels allowed to
jump is a guess on both sides (a wrong export can hide under it; a good one can exceed it). Instead:

1. **The reader's own winners.** The exported graph computes each window's winner mask
   (:func:`edgematte.model.unpool.winner_mask`: a 1×1 convolution with the tie rule's integer weights); every
   reader returns those tensors beside the alpha (found by their weights: :func:`onnx_tie_outputs`,
   :func:`caffe_tie_outputs`), and their argmax is the reader's winner per window and channel.
2. **The reference's winners and its near-ties** (stored in golden.npz at export, so ``verify`` needs no
   PyTorch). The encoder is continuous: PyTorch FP32 against float64 at each pooled stage's pre-ReLU activation
   gives the stage's noise ``n``; a reader may be ``eps = NOISE_FACTOR · n`` away (the alpha tolerance's margin,
   :mod:`edgematte.verification.tolerance`). A value ``z`` then reads within ``[relu(z − eps), relu(z + eps)]``,
   and a window is *near-tied* when another position could beat the reference's winner ``k`` under PyTorch's
   rule (the first maximum in row-major order): ``hi_j ≥ lo_k`` for ``j < k``, ``hi_j > lo_k`` for ``j > k``.
   A window of post-ReLU zeros whose pre-ReLU values are all below ``−eps`` is an exact tie that every correct
   implementation gives to the first position.
3. **The verdict.** A reader's winner that differs from the reference's at a window that is not near-tied is
   not rounding: the export computes something else (its weights, its tie rule). A differing winner at a
   near-tied window is a *flip*. A flip moves one value within its window; the decoder spreads it by each later
   convolution's radius, and each later unpooling over its 2×2 window. Carried through the decoder to the alpha
   (and kept to the trimap's unknown band, where the fusion lets M-Net's output through), the flips' *reach* is
   where the alpha may jump; everywhere else it must be within atol. A flip never causes another (the winners
   come from the encoder, not the decoder), so the reach is a bound, not an estimate.

Measured on random-weight M-Nets (docs/mnet.md): 1-5 % of the windows at the deepest stage are near-tied, so a
reach built from every near-tied window would cover the whole unknown band; the reader's actual flips are few.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

WINDOW = 2  # M-Net's pooling: 2x2, stride 2
PHASES = WINDOW * WINDOW
RADII = "near_ties.radii"  # golden key: each decoder stage's convolution radius (stage 1..4), then the output's


def winner_key(case: str, stage: int) -> str:
    return f"{case}.winner{stage}"


def near_tie_key(case: str, stage: int) -> str:
    return f"{case}.near_tie{stage}"


class _EncoderDone(Exception):
    """Raised by the last stage's hook: the decoder is not needed."""


def _pre_relu_pools(model, image, trimap) -> list:
    """The pre-ReLU activation (BatchNorm output) feeding each pooling stage's ReLU and pool, as numpy."""
    from edgematte.model.mnet import ENCODER, POOLS

    taken, hooks = [], []

    def keep(_module, _inputs, out):
        taken.append(out.detach().double().numpy().copy())
        if len(taken) == POOLS:
            raise _EncoderDone

    for stage in range(1, POOLS + 1):
        conv_bn_relu = getattr(model, f"conv_{stage}_{len(ENCODER[stage - 1])}")
        hooks.append(conv_bn_relu[1].register_forward_hook(keep))
    try:
        model(image, trimap)
    except _EncoderDone:
        pass
    finally:
        for h in hooks:
            h.remove()
    return taken


def _phases(z: np.ndarray) -> np.ndarray:
    """(1, C, H, W) -> (C, H/2, W/2, 4): each window's values in row-major order 00, 01, 10, 11."""
    _, c, h, w = z.shape
    return z.reshape(c, h // WINDOW, WINDOW, w // WINDOW, WINDOW).transpose(0, 1, 3, 2, 4).reshape(
        c, h // WINDOW, w // WINDOW, PHASES)


def winners(z: np.ndarray) -> np.ndarray:
    """(C, H/2, W/2) uint8: each window's first maximum of ``relu(z)`` (PyTorch's rule; numpy's argmax is first)."""
    return np.argmax(_phases(np.maximum(z, 0)), axis=-1).astype(np.uint8)


def near_tied(z: np.ndarray, eps: float) -> np.ndarray:
    """(C, H/2, W/2) bool: the windows where a reader whose pre-ReLU values are within ``eps`` of ``z`` may pick
    another winner than :func:`winners` (see the module)."""
    lo, hi = _phases(np.maximum(z - eps, 0)), _phases(np.maximum(z + eps, 0))
    k = winners(z)[..., None].astype(np.intp)
    lo_k = np.take_along_axis(lo, k, axis=-1)
    j = np.arange(PHASES)
    return (np.where(j < k, hi >= lo_k, hi > lo_k) & (j != k)).any(axis=-1)


def _encoder_pair(model, feed: dict[str, np.ndarray], spec) -> tuple[list, list]:
    """The pre-ReLU pooled-stage activations of ``model`` in FP32 and of a float64 copy, on one feed."""
    import torch

    image, trimap = (torch.from_numpy(feed[name]) for name in spec.input_names)
    with torch.no_grad():
        fp32 = _pre_relu_pools(model.eval(), image, trimap)
        exact = _pre_relu_pools(copy.deepcopy(model).eval().double(), image.double(), trimap.double())
    return fp32, exact


def golden_arrays(model, golden, spec, cases, noise_factor: float) -> dict[str, np.ndarray]:
    """golden.npz's near-tie keys: per case and pooling stage, the float64 reference's winners and near-ties (a
    reader may be ``noise_factor`` x PyTorch's FP32 noise away), and the decoder's radii (read from the model)."""
    from edgematte.model.mnet import POOLS

    arrays = {RADII: np.array([getattr(model, f"deconv_{s}")[0].padding[0] for s in range(1, POOLS + 1)]
                              + [model.conv_0.padding[0]], np.int64)}
    for case in cases:
        fp32, exact = _encoder_pair(model, golden.feed(spec, case), spec)
        for stage, (z32, z64) in enumerate(zip(fp32, exact), start=1):
            arrays[winner_key(case, stage)] = winners(z64)
            arrays[near_tie_key(case, stage)] = near_tied(z64, noise_factor * float(np.abs(z32 - z64).max()))
    return arrays


def fp32_reach(model, golden, spec, case: str) -> np.ndarray:
    """Where PyTorch's own FP32 run's near-tie flips may move the alpha of ``case`` (for its noise, measured
    outside them: :func:`edgematte.verification.tolerance.fp32_noise`)."""
    fp32, _ = _encoder_pair(model, golden.feed(spec, case), spec)
    return judge([winners(z) for z in fp32], golden.arrays, case, unknown_band(golden, spec, case)).reach


def unknown_band(golden, spec, case: str) -> np.ndarray:
    """(H, W) bool: where the case's trimap lets M-Net's output through its fusion (0 < trimap < 1)."""
    trimap = golden.feed(spec, case)[spec.second_input].reshape(spec.height, spec.width)
    return (trimap > 0) & (trimap < 1)


def check_golden(arrays: dict[str, np.ndarray], spec, cases) -> None:
    """ValueError unless ``arrays`` hold well-formed near-tie keys for every case (golden.npz's reader)."""
    radii = arrays.get(RADII)
    if radii is None or radii.ndim != 1 or radii.dtype != np.int64 or len(radii) < 2:
        raise ValueError(f"{RADII} is missing or malformed")
    stages = len(radii) - 1
    for case in cases:
        for stage in range(1, stages + 1):
            size = (spec.height >> stage, spec.width >> stage)
            winner, near = arrays.get(winner_key(case, stage)), arrays.get(near_tie_key(case, stage))
            if (winner is None or near is None or winner.dtype != np.uint8 or near.dtype != np.bool_
                    or winner.ndim != 3 or winner.shape[1:] != size or near.shape != winner.shape
                    or int(winner.max(initial=0)) >= PHASES):
                raise ValueError(f"{winner_key(case, stage)} / {near_tie_key(case, stage)} are missing or malformed")


def stages_of(arrays: dict[str, np.ndarray], case: str) -> int:
    return sum(1 for key in arrays if key.startswith(f"{case}.winner"))


def _dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    import cv2

    if radius == 0 or not mask.any():
        return mask
    kernel = np.ones((2 * radius + 1, 2 * radius + 1), np.uint8)
    return cv2.dilate(mask.astype(np.uint8), kernel).astype(bool)


def _unpool(mask: np.ndarray) -> np.ndarray:
    """One unpooling: a value may land on any of its window's four pixels."""
    return np.repeat(np.repeat(mask, WINDOW, axis=0), WINDOW, axis=1)


def reach(flipped: list[np.ndarray], radii: np.ndarray, unknown: np.ndarray) -> np.ndarray:
    """(H, W) bool: the alpha pixels the flipped windows (per stage 1..4, (C, H/2^s, W/2^s) bool) may move."""
    moved = None
    for stage in range(len(flipped), 0, -1):  # the decoder runs from the deepest stage up
        here = _unpool(flipped[stage - 1].any(axis=0))
        moved = here if moved is None else _unpool(moved) | here
        moved = _dilate(moved, int(radii[stage - 1]))
    return _dilate(moved, int(radii[-1])) & unknown


@dataclass(frozen=True)
class TieVerdict:
    """How one reader's winners compare with the reference's on one golden case."""

    flips: int           # near-tied windows (over channels) the reader gave to another position
    wrong: int           # windows it gave to another position where rounding cannot: a wrong export
    reach: np.ndarray    # (H, W) bool: where its flips may move the alpha


def judge(reader_winners: list[np.ndarray], arrays: dict[str, np.ndarray], case: str,
          unknown: np.ndarray) -> TieVerdict:
    """The reader's winners per stage against the golden case's (see the module)."""
    flipped, flips, wrong = [], 0, 0
    for stage, got in enumerate(reader_winners, start=1):
        differ = got != arrays[winner_key(case, stage)]
        near = arrays[near_tie_key(case, stage)]
        wrong += int((differ & ~near).sum())
        flipped.append(differ & near)
        flips += int(flipped[-1].sum())
    return TieVerdict(flips, wrong, reach(flipped, arrays[RADII], unknown))


def winners_from_masks(masks: list[np.ndarray], arrays: dict[str, np.ndarray], case: str) -> list[np.ndarray]:
    """The reader's winner per window from its winner-mask tensors (the graph's order: the deepest stage first),
    each shaped (C·H_s/2, 4, W_s/2, 1) as :func:`edgematte.model.unpool.max_unpool2x2_index_free` makes it."""
    out = []
    for stage, mask in zip(range(len(masks), 0, -1), masks):
        shape = arrays[winner_key(case, stage)].shape
        if mask.ndim != 4 or mask.shape[1] != PHASES or mask.size != PHASES * int(np.prod(shape)):
            raise ValueError(f"the graph's winner mask {mask.shape} does not fit stage {stage}'s windows {shape}")
        out.append(np.argmax(mask, axis=1).reshape(shape).astype(np.uint8))
    return out[::-1]


def _is_tie_rule(weight: np.ndarray, bias: np.ndarray | None) -> bool:
    """A 1×1 convolution from the four phases to the four phases with weights in {-1, 0, 1} and an integer bias:
    a tie rule (:data:`edgematte.model.unpool.TIE_WEIGHT` or any other order: a wrong one is found, then judged)."""
    return (weight.shape == (PHASES, PHASES, 1, 1) and bias is not None and bias.size == PHASES
            and bool(np.isin(weight, (-1.0, 0.0, 1.0)).all()) and bool((bias == np.round(bias)).all()))


def onnx_tie_outputs(path) -> list[str]:
    """The tensors of an exported ONNX graph that hold the unpoolings' winner masks (the tie rule's Conv), in
    graph order."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(path)).graph
    values = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    values.update({n.output[0]: numpy_helper.to_array(n.attribute[0].t) for n in graph.node
                   if n.op_type == "Constant" and n.attribute and n.attribute[0].type == onnx.AttributeProto.TENSOR})
    return [n.output[0] for n in graph.node if n.op_type == "Conv" and len(n.input) == 3
            and n.input[1] in values and n.input[2] in values and _is_tie_rule(values[n.input[1]], values[n.input[2]])]


def caffe_tie_outputs(prototxt, caffemodel) -> list[str]:
    """The layers of a Caffe pair that compute the unpoolings' winner masks (the tie rule's Convolution), in
    order."""
    from edgematte.runtime.caffe_files import parse_prototxt, read_caffemodel

    layers = parse_prototxt(open(prototxt).read()).get("layer", [])
    weights = read_caffemodel(caffemodel)
    names = []
    for layer in layers:
        name = layer.get("name", [None])[0]
        blobs = weights.get(name, {}).get("blobs", [])
        if layer.get("type", [None])[0] == "Convolution" and len(blobs) == 2:
            if blobs[0].size == PHASES * PHASES and _is_tie_rule(blobs[0].reshape(PHASES, PHASES, 1, 1), blobs[1]):
                names.append(name)
    return names
