"""``edgematte``: export MODNet (RGB + previous alpha) for Ascend 310 / HiLens Kit, and prove it matches.

Each command parses its options, calls :mod:`edgematte.api` with keywords, and prints what the result
renders. Options shared by several commands are declared once, in :mod:`edgematte.cli_options`. Heavy libraries are imported by
the API, never here, so ``edgematte --help`` is instant and ``verify`` runs without PyTorch.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from edgematte import __version__
from edgematte.cli_options import (FILE, FOLDER, ROUTES_HELP, bench_options, checkpoint_option, device_option,
                                   force_option, int8_max_error_option, json_flag, mnet_width_option, model_option,
                                   preset_options, refiner_options, refiner_width_option, train_options)
from edgematte.errors import CommandGroup
from edgematte.export.routes import DEFAULT_TARGET, TARGETS, VIAS
from edgematte.networks import REFINERS
from edgematte.hilens_skill import MODES


def _log(message: str) -> None:
    click.echo(f"  - {message}", err=True)


def _echo_json(data) -> None:
    click.echo(json.dumps(data, indent=2))


@click.group(cls=CommandGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="edgematte")
def main() -> None:
    """Real-time portrait matting (MODNet with the previous frame's alpha as a 4th input) for Huawei
    Ascend 310 and the HiLens Kit: export, verify against PyTorch, inspect.

    \b
    Quick start:
      edgematte export --to om --out out/hilens           # HiLens Kit, embedded default (untrained) network
      edgematte export --to om --checkpoint modnet_webcam_portrait_matting.ckpt --out out/hilens
      edgematte export --to om --device ascend310b4 --out out/aipro   # Atlas 200I DK A2 / Orange Pi AIpro (atc)
      edgematte export --to onnx --out out/onnx           # ONNX only
      edgematte verify out/hilens
      edgematte info modnet_webcam_portrait_matting.ckpt
    """


@main.command(epilog=ROUTES_HELP)
@click.option("--to", type=click.Choice(TARGETS), default=DEFAULT_TARGET, show_default=True,
              help="What to export (the routes are listed below).")
@click.option("--via", type=click.Choice(VIAS), help="With --to om: the route to the device compiler "
                                                     "(default: the one --device needs, else the first below).")
@device_option
@model_option("M-Net is exported with exact index-free unpooling.")
@mnet_width_option
@checkpoint_option("MODNet checkpoint: the official 3-channel .ckpt (inflated exactly to RGB + alpha) or an "
                   "edgematte 4-channel one; with --model mnet, an M-Net checkpoint ({'epoch', 'model', "
                   "'optimizer'} or a state_dict). Without it, the embedded default (untrained) network is exported.")
@preset_options("The exported network")
@refiner_options
@click.option("--align-corners/--half-pixel", "align_corners", default=None,
              help="Resize semantics the weights were trained with. Default: what the checkpoint records "
                   "(official MODNet: half-pixel, i.e. align_corners=False).")
@click.option("--out", type=FOLDER, help="Output folder (default: out/<preset>-<to>). Must not exist unless --force.")
@click.option("--int8", is_flag=True, help="Also write an INT8 ONNX for the CPU stand-in (edgematte run --int8); "
                                         "its error against FP32 goes into the manifest. Not for the device.")
@int8_max_error_option
@click.option("--atol", type=float, metavar="ERR", help="Largest alpha error an artifact may have against PyTorch. "
              "Default: 4x the network's own FP32 noise (measured in float64), at least 1e-4, at most half an 8-bit "
              "level.")
@force_option("an existing output folder")
@click.option("--json", "as_json", is_flag=True, help="Print the manifest as JSON on stdout.")
def export(as_json, **options):
    """Export the network, then verify it against PyTorch before returning.

    The folder holds the model, golden.npz (inputs and PyTorch outputs) and manifest.json (spec,
    shapes, checksums, tool versions, and the max/mean abs error of every check: random inputs, a real
    portrait, and a multi-frame rollout feeding each alpha back as the next input; M-Net has no rollout).
    """
    from edgematte import api

    result = api.export(**options, log=_log)
    if options["checkpoint"] is None:
        click.secho(api.UNTRAINED_WARNING, fg="yellow", err=True)
    if as_json:
        _echo_json(result.manifest.to_dict())
        return
    for line in result.lines():
        click.echo(line)


@main.command()
@click.argument("folder", type=click.Path(path_type=Path))
@json_flag
def verify(folder, as_json):
    """Re-run the checks of an export FOLDER: checksums, then every artifact against golden.npz.

    Needs no PyTorch: the golden outputs travel with the bundle. Exits 1 if anything fails.
    """
    from edgematte import api

    result = api.verify(folder, log=api.no_log if as_json else _log)
    if as_json:
        _echo_json(result.to_dict())
    else:
        for line in result.lines():
            click.echo(line)
    if not result.passed:
        raise SystemExit(1)


@main.command()
@click.argument("path", type=click.Path(path_type=Path))
@json_flag
def info(path, as_json):
    """What PATH contains: a MODNet checkpoint, an edgematte .onnx file, or an export folder."""
    from edgematte import api

    data = api.info(path)
    if as_json:
        _echo_json(data)
        return
    for key, value in data.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k}={v}" for k, v in value.items())
        click.echo(f"{key:>22}: {value}")


@main.command()
@click.argument("bundle", type=click.Path(path_type=Path))
@click.option("--input", required=True, metavar="FILE|webcam:N", help="A video file, or webcam:N.")
@click.option("--background", default="blur", show_default=True, metavar="FILE|#rrggbb|blur",
              help="What replaces the background: an image, a colour, or the blurred frame.")
@click.option("--output", type=FILE, required=True,
              help="The video to write (H.264 mp4 with the input's frame rate and audio).")
@click.option("--mode", type=click.Choice(MODES), default=MODES[0],
              show_default=True, help="composite; alpha (the matte, for editors); side-by-side (input | result).")
@click.option("--max-frames", type=click.IntRange(min=1), help="Stop after N frames.")
@click.option("--rgba-dir", type=FOLDER, help="Also write every frame as an RGBA PNG (frame + matte), for editors.")
@click.option("--int8", is_flag=True, help="Run the bundle's INT8 model (export --int8) instead of FP32.")
@click.option("--preview", type=click.IntRange(1, 65535), metavar="PORT",
              help="AscendCL bundles: also serve the composite as MJPEG at http://127.0.0.1:PORT/ while it runs.")
@click.option("--pace-npu", type=click.FloatRange(min=0, min_open=True), metavar="MS",
              help="Each inference takes at least MS, as on a board's NPU (bench --device predicts it): the app's "
                   "pipeline runs here at that board's pace.")
@force_option("an existing output")
@json_flag
def run(bundle, as_json, **options):
    """Run the BUNDLE's own app, unchanged, on a video with the CPU stand-in of its device's API
    (onnxruntime + the AIPP emulator): the HiLens skill (skill/main.py, writing what the Kit shows on
    HDMI) or, for the CANN boards, the AscendCL app (app/main.py, on the pyACL stand-in).

    \b
      edgematte sample-clip talk.mp4
      edgematte run out/hilens --input talk.mp4 --background beach.jpg --output talk_beach.mp4
      edgematte run out/aipro --input talk.mp4 --output talk_aipro.mp4 --preview 8080
    """
    from edgematte import api

    total = api.input_frames(options["input"], options["max_frames"])
    with click.progressbar(length=total or 1, label="matting", file=sys.stderr, show_pos=True) as bar:
        result = api.run(bundle, **options, on_frame=lambda: bar.update(1), log=lambda _: None)
    if as_json:
        _echo_json(result.to_dict())
        return
    for line in result.log_tail():
        click.echo(f"  - {line}", err=True)
    click.echo(result.summary())


@main.command("sample-clip")
@click.argument("path", type=FILE)
@click.option("--seconds", type=click.FloatRange(min=0.2), default=5.0, show_default=True)
@click.option("--no-audio", is_flag=True, help="Leave out the 440 Hz tone.")
@force_option("an existing file")
def sample_clip(path, seconds, no_audio, force):
    """Write a test clip made on the spot (nothing is downloaded): skimage's astronaut portrait moving over a
    textured background, 1280x720 at 25 fps, H.264, with a tone as its audio track."""
    from edgematte import api

    click.echo(f"Wrote {api.sample_clip(path, seconds=seconds, audio=not no_audio, force=force)}")


@main.command()
@click.argument("bundle", required=False, type=FOLDER)
@bench_options
def bench(bundle, json_path, **options):
    """Latency of the model and of the skill's whole camera loop on this machine.

    \b
    Model: edgematte's FP32 graph, MODNet's original-style export (same weights, one input) and the INT8
    model, timed alternately in one run (medians, p90, p99) with their ratios and the GFLOP/s reached;
    the Ascend 310 lower bound from its FP16 peak. Loop: the bundle's own skill on the stand-in, per
    720p frame: read, resize, AIPP emulation, infer, the skill's composite, show (H.264 encode).
    With --device: the cost model's prediction for that board's chip, per route.
    """
    from edgematte import api

    to_stdout = str(json_path) == "-"
    report = api.bench(bundle, **options, json_path=None if to_stdout else json_path, log=_log)
    if to_stdout:
        _echo_json(report)
        return
    from edgematte.bench.summary import summary_lines

    for line in summary_lines(report):
        click.echo(line)


@main.command("eval")
@click.option("--pred", type=FOLDER, help="Predicted alphas (<set>/<clip>/pha/).")
@click.option("--gt", type=FOLDER, help="Ground truth (<set>/<clip>/pha/).")
@click.option("--bundle", type=FOLDER, help="Run this device bundle's model over --data, fed the frames its app feeds "
                                            "(the stand-in: AIPP emulator + onnxruntime).")
@checkpoint_option("Run this checkpoint (PyTorch) over --data.")
@click.option("--data", type=FOLDER, help="Clips with inputs and ground truth: <set>/<clip>/{com,pha}/<frame>.png.")
@preset_options("With --checkpoint, the model")
@click.option("--trimap", type=FOLDER,
              help="With --pred/--gt (or --refiner): trimaps (<set>/<clip>/trimap/<frame>.png) for the DIM trimap "
                   "protocol, reported in its own table.")
@click.option("--refiner", type=click.Choice(REFINERS), help="Compare MODNet alone with MODNet + M-Net under the trimap "
              "protocol over --data (the bundle's two networks, or --checkpoint and --refiner-checkpoint); with "
              "--trimap, given trimaps too.")
@checkpoint_option("With --refiner: the M-Net checkpoint (default: the embedded, untrained one).",
                   name="--refiner-checkpoint")
@click.option("--refiner-size", metavar="WxH", help="With --refiner: M-Net's crop (default 320x320).")
@refiner_width_option
@click.option("--reset-rules", is_flag=True, help="With a model run: feed the alpha back through the apps' reset rules "
              "(a scene cut or an empty matte drops it), as the deployed app does; without, the protocol's way.")
@click.option("--json", "json_path", type=FILE, help="Write the full report.")
@click.option("--csv", "csv_path", type=FILE, help="Write per-frame rows.")
@click.option("--plot", "plot_path", type=FILE, help="Write a plot of per-frame MAD and dtSSD (PNG).")
@force_option("existing --json/--csv/--plot files")
def evaluate(**options):
    """Matting error and temporal stability, in the units papers use (RVM's whole-frame video protocol).

    \b
      edgematte eval --pred out/preds --gt videomatte_512x288
      edgematte eval --bundle out/hilens --data videomatte_512x288
    A model run also reports, side by side and with their latency in frames: the same network with the
    previous alpha forced to zero (plain MODNet), that plus MODNet's one-frame delay (OFD), and that plus
    an exponential moving average.
    """
    from edgematte import api

    for line in api.evaluate(**options, log=_log).lines():
        click.echo(line)


@main.command()
@train_options
def train(**options):
    """Fine-tune MODNet (MODNet's losses; --recipe: how the previous-alpha input is trained, by default not at all,
    plain MODNet, as the temporal study ships), or train the M-Net refiner (--model mnet). Runs on CPU, one GPU,
    or many through torchrun:

    \b
      edgematte train --data clips --backgrounds bgs --init modnet_webcam_portrait_matting.ckpt --out runs/x
      edgematte train --model mnet --kind image --data dim --backgrounds bgs --out runs/refiner
      torchrun --nproc_per_node=2 -m edgematte train --data clips ... --out runs/x
    """
    from edgematte import api

    with click.progressbar(length=options["iterations"], label="training", file=sys.stderr, show_pos=True) as bar:
        result = api.train(**options, log=_log, on_step=lambda step, loss: bar.update(step - bar.pos))
    if int(os.environ.get("RANK", "0")) == 0:
        click.echo(result.summary())
        click.echo(result.next_step())


@main.command()
@click.option("--out", required=True, type=FOLDER, help="Study folder: data/, runs/ (one per variant and seed), "
                                                         "results.json, recovery.png, events.png. Run again to resume.")
@click.option("--quick", is_flag=True, help="A tiny end-to-end run (under a minute): checks the pipeline, "
                                            "measures nothing.")
@click.option("--iterations", type=click.IntRange(min=1), help="Training steps per run instead of the study's "
              "(recorded in results.json; a study folder keeps the steps it was started with unless raised).")
def ablation(out, quick, iterations):
    """The temporal ablation (docs/temporal.md): plain MODNet, the ground-truth previous-alpha recipe and training
    on the model's own feedback (train --recipe a-plain, d-full, e-own), plus OFD and EMA, on synthetic scenes
    with noise, compression, a subject entering and leaving, and a backlight. Trains every recipe for three seeds
    (resumable; CUDA when present), checks each against its goals, names the method train ships, and writes
    results.json and the plots."""
    from edgematte import api
    from edgematte.ablation import summary_lines

    for line in summary_lines(api.ablation(out, quick=quick, iterations=iterations, log=_log), Path(out)):
        click.echo(line)

