"""Options several ``edgematte`` commands share, declared once with one help text each."""

from __future__ import annotations

from pathlib import Path

import click

from edgematte.bundle import REFINER_FOLDER, file_name
from edgematte.devices import DEFAULT_DEVICE, DEVICES
from edgematte.export.routes import ROUTES
from edgematte.networks import DEFAULT_NETWORK, NETWORKS, REFINERS
from edgematte.spec import DEFAULT_PRESET, PRESETS
from edgematte.train.recipes import BY_NAME, RECIPES, SHIPPED

FILE, FOLDER = click.Path(path_type=Path, dir_okay=False), click.Path(path_type=Path, file_okay=False)


def _options(*decorators):
    def apply(f):
        for d in reversed(decorators):
            f = d(f)
        return f
    return apply


def preset_options(purpose: str):
    return _options(
        click.option("--preset", default=DEFAULT_PRESET, show_default=True, type=click.Choice(list(PRESETS)),
                     help=f"{purpose}: target and network size (WIDTHxHEIGHT)."),
        click.option("--size", metavar="WxH", help="Override the preset's network size, e.g. 640x352 (multiples of 32)."))


def checkpoint_option(help: str, name: str = "--checkpoint"):
    return click.option(name, type=FILE, help=help)


def force_option(what: str):
    return click.option("--force", is_flag=True, help=f"Replace {what}.")


json_flag = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")
int8_max_error_option = click.option(
    "--int8-max-error", type=float, metavar="ERR",
    help="Mixed precision: keep the convolutions the alpha is most sensitive to in FP32 until the INT8 model's mean "
         "abs alpha error against FP32 is at most ERR (e.g. 0.005). Tries one model per convolution: minutes at "
         "512x288.")


device_option = click.option(
    "--device", type=click.Choice(list(DEVICES)), metavar="FAMILY",
    help=f"With --to om: the board family the bundle is for (default {DEFAULT_DEVICE}): "
         + "; ".join(f"{d.name} = {d.title} ({d.soc_version})" for d in DEVICES.values()) + ".")

ROUTES_HELP = "\b\nRoutes:\n" + "\n".join(f"  --to {r.name:<16}{r.summary}" for r in ROUTES)


def _width(_ctx, _param, value):
    return None if value is None else float(value)


WIDTH_CHOICE = click.Choice(["1", "0.5", "0.25"])  # M-Net's widths (model/mnet.py WIDTHS)
refiner_option = click.option(
    "--refiner", type=click.Choice(REFINERS),
    help="With --to om: put SHM's M-Net beside MODNet; the app refines the most uncertain crop of each matte with "
         f"it (its files under {REFINER_FOLDER}/, a second compiler command in {file_name('convert_script')}).")
refiner_size_option = click.option("--refiner-size", metavar="WxH",
                                   help="The refiner's crop, in camera pixels (default 320x320).")
refiner_width_option = click.option(
    "--refiner-width", type=WIDTH_CHOICE, callback=_width,
    help="The embedded (untrained) refiner's width multiplier; a checkpoint's is read from the file.")
mnet_width_option = click.option(
    "--width", type=WIDTH_CHOICE, callback=_width,
    help="M-Net's width multiplier for the embedded default (a quarter of the width costs about 1/16 of the MACs; "
         "see docs/mnet.md). A checkpoint's width is read from the file.")
refiner_options = _options(
    refiner_option,
    click.option("--refiner-checkpoint", type=FILE, help="The refiner's M-Net checkpoint (default: the embedded, "
                                                         "untrained one)."),
    refiner_size_option,
    refiner_width_option)


def model_option(help: str):
    """``--model``: the network (networks.py), each named with its one-line summary."""
    summaries = "; ".join(f"{n.name}: {n.summary}" for n in NETWORKS.values())
    return click.option("--model", type=click.Choice(list(NETWORKS)), default=DEFAULT_NETWORK, show_default=True,
                        help=f"The network ({summaries}). {help}")


train_options = _options(
    click.option("--data", required=True, type=FOLDER,
                  help="Training data: clips (<clip>/fgr/ + pha/, or com/ + pha/) or, with --kind image, fg/ + alpha/."),
    click.option("--kind", type=click.Choice(["video", "image"]), default="video", show_default=True),
    click.option("--backgrounds", type=FOLDER, help="Background images to composite fgr/ (video) or fg/ (image) onto."),
    checkpoint_option("Start from this checkpoint (e.g. modnet_webcam_portrait_matting.ckpt, inflated exactly).",
                       name="--init"),
    click.option("--out", required=True, type=FOLDER,
                  help="Run folder: checkpoint.ckpt, train_state.pt, metrics.jsonl (and TensorBoard if installed)."),
    click.option("--align-corners", is_flag=True, help="Train with align_corners=True resizes (the Kit's cheaper Interp "
                                                        "path at export); recorded in the checkpoint."),
    preset_options("The training crop"),
    click.option("--iterations", type=click.IntRange(min=1), default=1000, show_default=True),
    click.option("--batch-size", type=click.IntRange(min=1), default=8, show_default=True,
                  help="Global batch; torchrun processes split it."),
    click.option("--lr", type=float, default=1e-4, show_default=True),
    click.option("--optimizer", type=click.Choice(["adamw", "sgd", "adam"]),
                  help="Default adamw (MODNet) or adam with weight decay 5e-4 (M-Net, as its reproductions train). sgd: "
                       "MODNet's momentum 0.9 with the lr divided by 10 each quarter of the run."),
    click.option("--seed", type=int, default=0, show_default=True),
    click.option("--save-every", type=click.IntRange(min=1), default=100, show_default=True),
    click.option("--freeze-bn", is_flag=True, help="Keep BatchNorm on its running statistics (small batches). Without "
                                                 "it, torchrun on GPU syncs BatchNorm; on CPU each process uses its own."),
    click.option("--recipe", type=click.Choice(list(BY_NAME)),
                  help=f"How the previous alpha is trained (docs/temporal.md; default {SHIPPED}, what the temporal study "
                       f"ships): " + "; ".join(f"{r.name}: {r.summary}" for r in RECIPES) + "."),
    click.option("--clip-frames", type=click.IntRange(min=1),
                  help="Train on clips of this many consecutive frames (--batch-size counts clips); 1: single frames. "
                       "Default: the recipe's."),
    click.option("--own-feedback", type=click.FloatRange(0, 1),
                  help="With --clip-frames 2 or more: the most probability that a frame's previous alpha is the model's "
                       "own output for the frame before, as the apps feed it (rising from 0 over --own-ramp steps). "
                       "Default: the recipe's. docs/training.md."),
    click.option("--own-ramp", type=click.IntRange(min=0),
                  help="Steps over which the --own-feedback probability rises from 0. Default: the recipe's."),
    click.option("--coherence", type=click.FloatRange(min=0),
                  help="With --clip-frames 2 or more: weight of the temporal-coherence loss (RVM's is 5). Default: the "
                       "recipe's."),
    model_option("mnet trains on DIM-style composites (fg/ or fgr/ with --backgrounds), patches of --size "
                  "(default 320x320) centred on the unknown band."),
    mnet_width_option,
    checkpoint_option("With --model mnet: a MODNet checkpoint; M-Net then trains on the trimaps the device makes from "
                       "its alpha (fine-tuning for deployment) instead of random ones.", name="--trimaps-from"),
    click.option("--resume", is_flag=True, help="Continue the run in --out from its last saved step."),
    force_option("the run in a non-empty --out (start over)"))


bench_options = _options(
    checkpoint_option("Weights for the torch model and the baseline (default: the embedded default: timing does not "
                      "depend on weight values, and nothing outside the bundle is read)."),
    preset_options("Without BUNDLE, the network to export and time"),
    click.option("--runtime", type=click.Choice(["onnxruntime", "onnxruntime-int8", "torch"]), default="onnxruntime",
                  show_default=True, help="What runs the loop's infer stage (all variants are timed for the model table)."),
    click.option("--threads", type=click.IntRange(min=1), help="Threads for onnxruntime and torch (default: all cores)."),
    click.option("--frames", type=click.IntRange(min=3), default=50, show_default=True,
                  help="Timed runs per model variant, and frames of the loop."),
    click.option("--warmup", type=click.IntRange(min=0), default=5, show_default=True),
    click.option("--input", "clip", type=FILE, help="Video for the loop (default: the sample clip, made on the spot)."),
    click.option("--json", "json_path", type=FILE,
                  help="Write the report as JSON (schema in docs/performance.md); '-' for stdout."),
    click.option("--plot", "plot_path", type=FILE, help="Write a bar chart (PNG)."),
    click.option("--fp16", is_flag=True, help="Also estimate the device's FP16 error (half-precision PyTorch; slow)."),
    click.option("--device", type=click.Choice(list(DEVICES)), metavar="FAMILY",
                  help="Also predict inference on this board family's chip with the device cost model (per route, FP16 "
                       "and INT8, the costliest layers; a model, not a measurement: docs/performance.md). FAMILY: "
                       + ", ".join(DEVICES) + "."),
    int8_max_error_option,
    refiner_option,
    refiner_width_option,
    refiner_size_option,
    force_option("existing --json/--plot files"))
