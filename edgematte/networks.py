"""The networks a bundle can hold: one record each, read wherever the network makes a difference (the spec's
input names, the export's flags and default size, the golden inputs and the tolerance policy, the AIPP
blocks, the Caffe route's checks, the bundle README, training, ``info``). Adding a network is a record here
plus its model code under ``edgematte/model/``; nothing else asks for a network by name.

Torch-free at import: the hooks (loading weights, a training task) import their modules when called.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from edgematte.errors import SpecError, lookup

# M-Net's golden and random trimaps: background, unknown, foreground
TRIMAP_LEVELS = (0.0, 0.5, 1.0)
DITHER = 8.0  # M-Net's golden portrait: uniform noise of this many 8-bit levels (verification/golden.py says why)


def _load_modnet(checkpoint, seed: int, align_corners: bool | None, width: float | None):
    from edgematte.model.modnet_checkpoint import default_model, load_checkpoint

    if width is not None:
        raise SpecError("--width sets M-Net's width; MODNet has one width: use it with --model mnet")
    if checkpoint is None:
        return default_model(seed, align_corners=bool(align_corners))
    return load_checkpoint(checkpoint, align_corners=align_corners)


def _load_mnet(checkpoint, seed: int, align_corners: bool | None, width: float | None):
    from edgematte.model.mnet_checkpoint import check_width, default_mnet, load_mnet_checkpoint

    if checkpoint is None:
        return default_mnet(seed, 1.0 if width is None else width)
    loaded = load_mnet_checkpoint(checkpoint)
    if width is not None and check_width(width) != loaded.model.width:
        raise SpecError(f"--width {width:g} differs from the checkpoint's width {loaded.model.width:g}; "
                        f"leave --width out (it is read from the file)")
    return loaded


def _is_mnet_checkpoint(path) -> bool:
    from edgematte.model.mnet_checkpoint import is_mnet_checkpoint

    return is_mnet_checkpoint(path)


def _previous_alpha(spec, rng: np.random.Generator) -> np.ndarray:
    return rng.uniform(0, 1, spec.alpha_shape).astype(np.float32)


def _random_trimap(spec, rng: np.random.Generator) -> np.ndarray:
    return rng.choice(np.float32(TRIMAP_LEVELS), spec.alpha_shape).astype(np.float32)


def centre_trimap(width: int, height: int) -> np.ndarray:
    """A trimap of an upright ellipse around the centre (a head and shoulders' place): foreground inside,
    an unknown band 1/16 of the height wide around its outline, background outside; 1×1×H×W float32."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    r = np.hypot((x - width / 2) / (0.3 * width), (y - 0.6 * height) / (0.5 * height))
    band = (height / 16) / (0.5 * height)
    trimap = np.where(r < 1 - band, 1.0, np.where(r < 1 + band, 0.5, 0.0))
    return trimap[None, None].astype(np.float32)


def _first_frame_feed(spec, image: np.ndarray, rng: np.random.Generator) -> dict:
    """The portrait as the first frame: no previous alpha yet."""
    return {spec.image_input: image, spec.alpha_input: np.zeros(spec.alpha_shape, np.float32)}


def _trimap_feed(spec, image: np.ndarray, rng: np.random.Generator) -> dict:
    """The portrait dithered by :data:`DITHER` levels (as a sensor's noise; it keeps max-unpooling's near-ties
    out of the golden case) with a trimap around its centre."""
    dithered = (image + rng.uniform(-DITHER, DITHER, image.shape) / spec.norm_std).astype(np.float32)
    return {spec.image_input: dithered, spec.trimap_input: centre_trimap(spec.width, spec.height)}


@dataclass(frozen=True)
class Network:
    name: str                   # --model, spec.model, and the stem of its files in a bundle
    short: str                  # what messages call it
    title: str                  # what the README calls it
    summary: str                # one line: its inputs and its job (--help, the Caffe header)
    second_input: str           # the PipelineSpec field naming the 1x1xHxW input beside the image
    second_input_note: str      # README: what input 1 holds ({name}, {shape}, {w}, {h} filled in)
    output_note: str            # README: what the output holds
    second_aipp: bool           # input 1 is uint8 codes scaled by its own AIPP block (M-Net's trimap)
    feedback: bool              # its output is its next frame's input 1: the golden rollout, the apps' loop
    frame_network: bool         # the network a device app runs on every frame (False: a refiner)
    instance_norm: bool         # IBNorm's InstanceNorm: the Kit's global-pooling limit bounds its sizes
    float64_reference: bool     # the golden outputs come from PyTorch in float64 (FP32 near-ties differ)
    unpooling: bool             # max-unpooling: its checks are flip-aware (verification/near_ties.py)
    default_size: str | None    # its size without --size (None: the preset's)
    default_optimizer: str      # train's optimizer without --optimizer
    options: frozenset[str]     # the optional export/train settings it takes (int8, align_corners, refiner, ...)
    load: Callable              # (checkpoint or None, seed, align_corners, width) -> the loaded weights
    random_second: Callable     # (spec, rng) -> a random input 1
    portrait_feed: Callable     # (spec, normalised portrait, rng) -> the golden portrait case's feed
    task: str                   # its training task's class, "module:Class" (the trainer imports the records)
    is_checkpoint: Callable | None = None  # path -> whether a checkpoint file holds this network (info)

    def __str__(self) -> str:
        return self.name

    def training_task(self, cfg, spec):
        """Its training task for ``cfg`` (:mod:`edgematte.train.trainer`), named by path: the trainer reads these
        records, so they do not import it."""
        import importlib

        module, name = self.task.split(":")
        return getattr(importlib.import_module(module), name)(cfg, spec)

    def spec_input(self, spec) -> str:
        return getattr(spec, self.second_input)

    def refuse_options(self, **given) -> None:
        """One error naming the settings in ``given`` (option -> value; None or False: not given) that this
        network does not take, and the network that takes them."""
        refused = [option for option, value in given.items() if value not in (None, False) and option not in self.options]
        if refused:
            takers = [n for n in NETWORKS.values() if set(refused) <= n.options] or [self]
            one = len(refused) == 1
            raise SpecError(f"{', '.join(FLAGS.get(o, '--' + o.replace('_', '-')) for o in refused)} "
                            f"{'applies' if one else 'apply'} to {takers[0].short} only: use {'it' if one else 'them'} "
                            f"with --model {takers[0].name}, or leave {'it' if one else 'them'} out with --model "
                            f"{self.name}")


FLAGS = {"align_corners": "--align-corners/--half-pixel"}  # an option whose flag is not --<option>
MODNET, MNET = "modnet4", "mnet"
NETWORKS: dict[str, Network] = {n.name: n for n in (
    Network(MODNET, "MODNet", "MODNet (RGB + previous alpha)", "MODNet, RGB + the previous frame's alpha (the matting network)",
            "alpha_input",
            "float32 {shape}, the previous frame's alpha in [0, 1]; zeros for the first frame and after a scene cut.",
            "float32 {shape}, alpha in [0, 1]. Feed it back as the next frame's input 1.",
            second_aipp=False, feedback=True, frame_network=True, instance_norm=True, float64_reference=False,
            unpooling=False, default_size=None, default_optimizer="adamw",
            options=frozenset({"int8", "align_corners", "refiner", "init", "kind", "backgrounds", "freeze_bn",
                               "recipe", "clip_frames", "own_feedback", "own_ramp", "coherence"}),
            load=_load_modnet, random_second=_previous_alpha, portrait_feed=_first_frame_feed, task="edgematte.train.trainer:ModnetTask"),
    Network(MNET, "M-Net", "SHM's M-Net (RGB + trimap)", "SHM's M-Net, RGB + a trimap (refines the unknown band)",
            "trimap_input",
            "uint8 {w}x{h} (one byte per pixel): 0 background, 1 unknown, 2 foreground; AIPP (YUV400_U8) scales "
            "it to 0 / 0.5 / 1.",
            "float32 {shape}, alpha in [0, 1]: the trimap's foreground, and M-Net's matte in its unknown band.",
            second_aipp=True, feedback=False, frame_network=False, instance_norm=False, float64_reference=True,
            unpooling=True, default_size="320x320",  # the reproductions train on 320x320 patches
            default_optimizer="adam",
            options=frozenset({"width", "trimaps_from", "init", "kind", "backgrounds", "freeze_bn"}),
            load=_load_mnet, random_second=_random_trimap, portrait_feed=_trimap_feed, task="edgematte.train.trainer:MnetTask",
            is_checkpoint=_is_mnet_checkpoint),
)}
DEFAULT_NETWORK = MODNET
# The refiner a device bundle can carry beside its frame network (export --refiner): the networks that are not
# frame networks.
REFINERS: tuple[str, ...] = tuple(n.name for n in NETWORKS.values() if not n.frame_network)


def network(name: str) -> Network:
    """The record called ``name``; an unknown name gets the nearest one suggested."""
    return lookup(NETWORKS, name, "model")


def refiner_network(name: str) -> Network:
    if name not in REFINERS:
        raise SpecError(f"unknown refiner {name!r}; the refiner is {' or '.join(REFINERS)}")
    return NETWORKS[name]


def network_of_checkpoint(path) -> Network:
    """The network whose checkpoint ``path`` holds (the one whose sniffer says so, else the default)."""
    return next((n for n in NETWORKS.values() if n.is_checkpoint is not None and n.is_checkpoint(path)),
                NETWORKS[DEFAULT_NETWORK])
