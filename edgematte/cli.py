"""``edgematte``: export MODNet (RGB + previous alpha) for Ascend 310 / HiLens Kit, and prove it matches.

Each command parses its options, calls :mod:`edgematte.api`, and prints. Heavy libraries are imported
inside the commands so that ``edgematte --help`` is instant.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from edgematte import __version__
from edgematte.spec import DEFAULT_PRESET, PRESETS

UNTRAINED_WARNING = ("No --checkpoint given: exporting the embedded default network. Its weights are "
                     "untrained (fixed seed): the pipeline works end to end, but the matte means nothing.")


def _log(message: str) -> None:
    click.echo(f"  - {message}", err=True)


def _echo_json(data) -> None:
    click.echo(json.dumps(data, indent=2))


def _target_names() -> list[str]:
    from edgematte.export.targets import TARGETS

    return list(TARGETS)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="edgematte")
def main() -> None:
    """Real-time portrait matting (MODNet with the previous frame's alpha as a 4th input) for Huawei
    Ascend 310 and the HiLens Kit: export, verify against PyTorch, inspect.

    \b
    Quick start:
      edgematte export --to om --out out/hilens           # HiLens Kit, embedded default (untrained) network
      edgematte export --to om --checkpoint modnet_webcam_portrait_matting.ckpt --out out/hilens
      edgematte export --to om --via onnx --out out/atc   # other Ascend 310 boards (atc)
      edgematte export --to onnx --out out/onnx           # ONNX only
      edgematte verify out/hilens
      edgematte info modnet_webcam_portrait_matting.ckpt
    """


@main.command()
@click.option("--to", "to", type=click.Choice(_target_names()), default="om", show_default=True,
              help="What to export. om: everything the device compiler needs (HiLens Kit: Caffe + aipp.cfg + "
                   "convert.sh for omg, run at once if omg is on PATH). onnx: the ONNX model alone. caffe: the "
                   "Kit-subset prototxt + caffemodel alone.")
@click.option("--via", type=click.Choice(["caffe", "onnx"]), default=None,
              help="With --to om: the route to the device compiler. caffe (default): Caffe in the HiLens "
                   "Kit's operator subset for omg. onnx: ONNX for atc (other Ascend 310 boards).")
@click.option("--checkpoint", type=click.Path(path_type=Path, dir_okay=False),
              help="MODNet checkpoint: the official 3-channel .ckpt (inflated exactly to RGB + alpha) or an "
                   "edgematte 4-channel one. Without it, the embedded default (untrained) network is exported.")
@click.option("--preset", default=DEFAULT_PRESET, show_default=True, type=click.Choice(list(PRESETS)),
              help="Target and network size (WIDTHxHEIGHT).")
@click.option("--size", metavar="WxH", help="Override the preset's network size, e.g. 640x352 "
                                            "(multiples of 32).")
@click.option("--align-corners/--half-pixel", "align_corners", default=None,
              help="Resize semantics the weights were trained with. Default: what the checkpoint records "
                   "(official MODNet: half-pixel, i.e. align_corners=False).")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False),
              help="Output folder (default: out/<preset>-<to>). Must not exist unless --force.")
@click.option("--int8", is_flag=True, help="Also write an INT8 ONNX for the CPU stand-in (edgematte run --int8); "
                                         "its error against FP32 goes into the manifest. Not for the device.")
@click.option("--int8-max-error", type=float, metavar="ERR",
              help="Implies --int8. Mixed precision: keep the convolutions the alpha is most sensitive to in FP32 until the INT8 "
                   "model's mean abs alpha error against FP32 is at most ERR (e.g. 0.005). Tries one model per "
                   "convolution: minutes at 512x288.")
@click.option("--force", is_flag=True, help="Replace an existing output folder.")
@click.option("--json", "as_json", is_flag=True, help="Print the manifest as JSON on stdout.")
def export(to, via, checkpoint, preset, size, align_corners, out, int8, int8_max_error, force, as_json):
    """Export the network, then verify it against PyTorch before returning.

    The folder holds the model, golden.npz (inputs and PyTorch outputs) and manifest.json (spec,
    shapes, checksums, tool versions, and the max/mean abs error of every check: random inputs, a real
    portrait, and a multi-frame rollout feeding each alpha back as the next input).
    """
    from edgematte import api

    click.echo(f"edgematte export --to {to}{f' --via {via}' if via else ''}: preset {preset}"
               f"{f', size {size}' if size else ''}", err=True)
    result = api.export(to=to, checkpoint=checkpoint, preset=preset, size=size, out=out, force=force,
                        align_corners=align_corners, via=via, int8=int8, int8_max_error=int8_max_error, log=_log)
    if checkpoint is None:
        click.secho(UNTRAINED_WARNING, fg="yellow", err=True)
    if as_json:
        _echo_json(result.manifest)
        return
    for check in result.checks:
        click.echo(check.line())
    int8 = result.manifest.get("int8")
    if int8:
        e, floor = int8["alpha_vs_fp32"], int8["camera_rounding_floor"]
        if "mixed_precision" in int8:
            click.echo(_plan_line(int8["mixed_precision"]))
        click.echo(f"INT8 vs FP32 alpha, mean abs: portrait {e['portrait']['mean_abs']:.4f}, clip "
                   f"{e['clip']['mean_abs']:.4f} (camera rounding of the input alone: "
                   f"{floor['portrait']['mean_abs']:.4f}, {floor['clip']['mean_abs']:.4f})")
    click.echo(f"Wrote {result.out}: " + ", ".join(f"{role}={rel}" for role, rel in result.manifest["artifacts"].items()))
    convert = result.manifest.get("convert")
    if convert and convert["ran"]:
        click.echo(f"{convert['tool']} ran: {result.out}/{result.manifest['artifacts']['om']} is ready for the device")
    elif convert:
        click.echo(f"Next: run {result.out}/convert.sh where {convert['tool']} is installed; {convert['note']}")
    else:
        click.echo(f"Next: edgematte verify {result.out}")


@main.command()
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON on stdout.")
def verify(folder, as_json):
    """Re-run the checks of an export FOLDER: checksums, then every artifact against golden.npz.

    Needs no PyTorch: the golden outputs travel with the bundle. Exits 1 if anything fails.
    """
    from edgematte import api

    result = api.verify(folder, log=api.no_log if as_json else _log)
    if as_json:
        _echo_json(result.to_dict())
    else:
        for problem in result.file_problems:
            click.echo(f"FAILED | files        | {problem}")
        for check in result.checks:
            click.echo(check.line())
        click.echo(("PASSED" if result.passed else "FAILED") + f" | {folder}")
    if not result.passed:
        raise SystemExit(1)


@main.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print as JSON on stdout.")
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
@click.option("--input", "source", required=True, metavar="FILE|webcam:N", help="A video file, or webcam:N.")
@click.option("--background", default="blur", show_default=True, metavar="FILE|#rrggbb|blur",
              help="What replaces the background: an image, a colour, or the blurred frame.")
@click.option("--output", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="The video to write (H.264 mp4 with the input's frame rate and audio).")
@click.option("--mode", type=click.Choice(["composite", "alpha", "side-by-side"]), default="composite",
              show_default=True, help="composite; alpha (the matte, for editors); side-by-side (input | result).")
@click.option("--max-frames", type=click.IntRange(min=1), help="Stop after N frames.")
@click.option("--rgba-dir", type=click.Path(path_type=Path, file_okay=False),
              help="Also write every frame as an RGBA PNG (frame + matte), for editors.")
@click.option("--int8", is_flag=True, help="Run the bundle's INT8 model (export --int8) instead of FP32.")
@click.option("--force", is_flag=True, help="Replace an existing output.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")
def run(bundle, source, background, output, mode, max_frames, rgba_dir, int8, force, as_json):
    """Run the BUNDLE's own skill/main.py, unchanged, on a video with the CPU stand-in for the HiLens
    Kit (onnxruntime + the AIPP emulator), and write what the Kit would show on HDMI.

    \b
      edgematte sample-clip talk.mp4
      edgematte run out/hilens --input talk.mp4 --background beach.jpg --output talk_beach.mp4
    """
    from edgematte import api
    from edgematte.run import parse_source, probe_input

    total = probe_input(parse_source(source)).frames
    total = min(total, max_frames) if total and max_frames else (total or max_frames or 0)
    log_lines = []
    with click.progressbar(length=total or 1, label="matting", file=sys.stderr,
                           show_pos=True) as bar:
        result = api.run(bundle, source, background, output, mode, max_frames, force, rgba_dir,
                         on_frame=lambda: bar.update(1), log=log_lines.append, int8=int8)
    if as_json:
        _echo_json(result.to_dict())
        return
    for line in [l for l in log_lines if "ms/frame" in l][-1:] + log_lines[-2:]:
        click.echo(f"  - {line}", err=True)
    click.echo(f"Wrote {result.output}: {result.frames} frames, {result.width}x{result.height} at "
               f"{result.fps:g} fps, {'with' if result.audio else 'no'} audio, mode {result.mode} "
               f"({1000 * result.seconds / result.frames:.1f} ms per frame)")


@main.command("sample-clip")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--seconds", type=click.FloatRange(min=0.2), default=5.0, show_default=True)
@click.option("--no-audio", is_flag=True, help="Leave out the 440 Hz tone.")
@click.option("--force", is_flag=True, help="Replace an existing file.")
def sample_clip(path, seconds, no_audio, force):
    """Write a test clip made on the spot (nothing is downloaded): skimage's astronaut portrait moving over a
    textured background, 1280x720 at 25 fps, H.264, with a tone as its audio track."""
    from edgematte import api

    click.echo(f"Wrote {api.sample_clip(path, seconds, audio=not no_audio, force=force)}")


@main.command()
@click.argument("bundle", required=False, type=click.Path(path_type=Path, file_okay=False))
@click.option("--checkpoint", type=click.Path(path_type=Path, dir_okay=False),
              help="Weights for the torch model and the baseline (default: the bundle's recorded checkpoint, or the "
                   "embedded default; timing does not depend on weight values).")
@click.option("--preset", default=DEFAULT_PRESET, show_default=True, type=click.Choice(list(PRESETS)),
              help="Without BUNDLE: the size to export and time.")
@click.option("--size", metavar="WxH", help="Without BUNDLE: override the preset's size.")
@click.option("--runtime", type=click.Choice(["onnxruntime", "onnxruntime-int8", "torch"]), default="onnxruntime",
              show_default=True, help="What runs the loop's infer stage (all variants are timed for the model table).")
@click.option("--threads", type=click.IntRange(min=1), help="Threads for onnxruntime and torch (default: all cores).")
@click.option("--frames", type=click.IntRange(min=3), default=50, show_default=True,
              help="Timed runs per model variant, and frames of the loop.")
@click.option("--warmup", type=click.IntRange(min=0), default=5, show_default=True)
@click.option("--input", "clip", type=click.Path(path_type=Path, dir_okay=False),
              help="Video for the loop (default: the sample clip, made on the spot).")
@click.option("--json", "json_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Write the report as JSON (schema in docs/performance.md); '-' for stdout.")
@click.option("--plot", "plot_path", type=click.Path(path_type=Path, dir_okay=False), help="Write a bar chart (PNG).")
@click.option("--fp16", is_flag=True, help="Also estimate the device's FP16 error (half-precision PyTorch; slow).")
@click.option("--int8-max-error", type=float, metavar="ERR",
              help="Time the INT8 model export --int8-max-error makes. Mixed precision: keep the convolutions the alpha is most sensitive to in FP32 until the INT8 "
                   "model's mean abs alpha error against FP32 is at most ERR (e.g. 0.005). Tries one model per "
                   "convolution: minutes at 512x288.")
def bench(bundle, checkpoint, preset, size, runtime, threads, frames, warmup, clip, json_path, plot_path, fp16,
          int8_max_error):
    """Latency of the model and of the whole camera loop on this machine.

    \b
    Model: edgematte's FP32 graph, MODNet's original-style export (same weights, one input) and the INT8
    model, timed alternately in one run (medians, p90, p99) with their ratios and the GFLOP/s reached;
    the Ascend 310 lower bound from its FP16 peak. Loop: decode, resize, AIPP emulation, infer, NV21
    composite and encode per 720p frame.
    """
    from edgematte import api

    report = api.bench(bundle, checkpoint, preset, size, runtime, threads, frames, warmup, clip=clip, fp16=fp16,
                       int8_max_error=int8_max_error, log=_log)
    if json_path is not None:
        text = json.dumps(report, indent=2)
        click.echo(text) if str(json_path) == "-" else json_path.write_text(text + "\n")
    if plot_path is not None:
        from edgematte.perf.plot import plot_report

        plot_report(report, plot_path)
    if str(json_path) != "-":
        _print_bench(report)


def _plan_line(plan: dict) -> str:
    head = (f"INT8 mixed precision: {len(plan['nodes_fp32'])} of {plan['units']} units kept FP32, "
            f"{100 * plan['int8_mac_fraction']:.0f}% of the MACs in INT8; ")
    if plan["met"]:
        return head + (f"alpha error {plan['error']:.4f} <= budget {plan['max_error']:g} "
                       f"(all INT8: {plan['error_all_int8']:.4f})")
    return head + (f"no unit can be INT8 within the budget {plan['max_error']:g}: the model is FP32 "
                   f"(the budget is below what one quantized convolution costs)")


def _print_bench(r: dict) -> None:
    m, mach = r["model"], r["machine"]
    click.echo(f"{mach['cpu']}, {mach['cores']} cores, {mach['threads']} threads | {m['preset']} "
               f"{m['width']}x{m['height']}, {m['parameters'] / 1e6:.2f} M params, {m['macs'] / 1e9:.2f} GMACs"
               f"{'' if m['trained'] else ' (untrained weights: accuracy columns describe noise)'}")
    click.echo(f"{'model':<18}{'p50 ms':>9}{'p90':>9}{'p99':>9}{'GFLOP/s':>9}  alpha vs FP32 (clip mean / max)")
    for v in r["variants"]:
        s = v["infer_ms"]
        acc = v.get("alpha_vs_fp32", {}).get("clip")
        acc_text = f"{acc['mean_abs']:.4f} / {acc['max_abs']:.4f}" if acc else "-"
        click.echo(f"{v['name']:<18}{s['p50']:>9.1f}{s['p90']:>9.1f}{s['p99']:>9.1f}{v['gflops_per_s']:>9.1f}  {acc_text}")
    plan = next((v["mixed_precision"] for v in r["variants"] if "mixed_precision" in v), None)
    if plan:
        click.echo(_plan_line(plan))
    floor = r["camera_rounding_floor"]["clip"]
    click.echo(f"{'(yardstick)':<18}{'camera rounding of the input (±0.5 level) moves FP32 by':>45}  "
               f"{floor['mean_abs']:.4f} / {floor['max_abs']:.4f}")
    ratios = r["ratios"]
    click.echo(f"original-style / edgematte: FP32 {ratios['original_over_edgematte_fp32']:.2f}x, "
               f"INT8 {ratios['original_over_edgematte_int8']:.2f}x")
    b = r["device_bound"]
    click.echo(f"Ascend 310 lower bound (FP16 peak, not a measurement): {b['min_infer_ms']:.2f} ms")
    if "fp16_simulation" in r:
        e = r["fp16_simulation"]["portrait"]
        click.echo(f"FP16 arithmetic (simulated) vs FP32 on the portrait: mean abs {e['mean_abs']:.4f}, "
                   f"max abs {e['max_abs']:.4f}")
    loop = r["loop"]
    click.echo(f"loop on {loop['input']['width']}x{loop['input']['height']} ({r['settings']['runtime']}): "
               + ", ".join(f"{k} {v['p50']:.1f}" for k, v in loop["stages"].items())
               + f" | total p50 {loop['total']['p50']:.1f} ms ({loop['total']['fps']:.1f} fps), "
                 f"non-inference {100 * loop['non_infer_fraction']:.1f}% "
                 f"({100 * loop['non_infer_fraction_without_aipp']:.1f}% without the emulated AIPP)")


@main.command("eval")
@click.option("--pred", type=click.Path(path_type=Path, file_okay=False), help="Predicted alphas (<set>/<clip>/pha/).")
@click.option("--gt", type=click.Path(path_type=Path, file_okay=False), help="Ground truth (<set>/<clip>/pha/).")
@click.option("--bundle", type=click.Path(path_type=Path, file_okay=False),
              help="Run this HiLens bundle (through the stand-in) over --data.")
@click.option("--checkpoint", type=click.Path(path_type=Path, dir_okay=False),
              help="Run this checkpoint (PyTorch) over --data.")
@click.option("--data", type=click.Path(path_type=Path, file_okay=False),
              help="Clips with inputs and ground truth: <set>/<clip>/{com,pha}/<frame>.png.")
@click.option("--preset", default=DEFAULT_PRESET, show_default=True, type=click.Choice(list(PRESETS)),
              help="With --checkpoint: the model size.")
@click.option("--size", metavar="WxH", help="With --checkpoint: override the preset's size.")
@click.option("--trimap", type=click.Path(path_type=Path, file_okay=False),
              help="With --pred/--gt: trimaps (<set>/<clip>/trimap/<frame>.png) for the DIM trimap protocol, "
                   "reported in its own table.")
@click.option("--json", "json_path", type=click.Path(path_type=Path, dir_okay=False), help="Write the full report.")
@click.option("--csv", "csv_path", type=click.Path(path_type=Path, dir_okay=False), help="Write per-frame rows.")
@click.option("--plot", "plot_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Write a plot of per-frame MAD and dtSSD (PNG).")
def evaluate(pred, gt, bundle, checkpoint, data, preset, size, trimap, json_path, csv_path, plot_path):
    """Matting error and temporal stability, in the units papers use (RVM's whole-frame video protocol).

    \b
      edgematte eval --pred out/preds --gt videomatte_512x288
      edgematte eval --bundle out/hilens --data videomatte_512x288
    A model run also reports, side by side and with their latency in frames: the same network with the
    previous alpha forced to zero (plain MODNet), that plus MODNet's one-frame delay (OFD), and that plus
    an exponential moving average.
    """
    from edgematte import api
    from edgematte.evaluate import METRICS as METRICS_ORDER

    report = api.evaluate(pred, gt, bundle, checkpoint, data, preset, size, trimap, log=_log)
    click.echo(report.source)
    click.echo(f"protocol: {report.to_dict()['protocol']}")
    click.echo(f"{'method':<28}{'latency':>8}{'clip':>24}" + "".join(f"{k:>9}" for k in METRICS_ORDER))
    for m in report.methods:
        for c in m.clips:
            click.echo(f"{m.name:<28}{m.latency_frames:>8}{c.name[-24:]:>24}" + "".join(f"{c.mean[k]:>9.3f}" for k in METRICS_ORDER))
        click.echo(f"{m.name:<28}{m.latency_frames:>8}{'OVERALL':>24}" + "".join(f"{m.overall[k]:>9.3f}" for k in METRICS_ORDER))
    if report.trimap is not None:
        from edgematte.evaluate import TRIMAP_METRICS, TRIMAP_PROTOCOL

        click.echo(f"protocol: {TRIMAP_PROTOCOL}")
        click.echo(f"{'clip':>36}" + "".join(f"{k:>10}" for k in TRIMAP_METRICS))
        for name, row in [*report.trimap["clips"].items(), ("OVERALL", report.trimap["overall"])]:
            click.echo(f"{name[-36:]:>36}" + "".join(f"{row[k]:>10.4f}" for k in TRIMAP_METRICS))
    if json_path:
        json_path.write_text(json.dumps(report.to_dict(), indent=2) + "\n")
    if csv_path:
        report.write_csv(csv_path)
    if plot_path:
        from edgematte.evaluate import plot_report

        plot_report(report, plot_path)



@main.command()
@click.option("--data", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="Training data: clips (<clip>/fgr/ + pha/, or com/ + pha/) or, with --kind image, fg/ + alpha/.")
@click.option("--kind", type=click.Choice(["video", "image"]), default="video", show_default=True)
@click.option("--backgrounds", type=click.Path(path_type=Path, file_okay=False),
              help="Background images to composite fgr/ (video) or fg/ (image) onto.")
@click.option("--init", type=click.Path(path_type=Path, dir_okay=False),
              help="Start from this checkpoint (e.g. modnet_webcam_portrait_matting.ckpt, inflated exactly).")
@click.option("--out", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="Run folder: checkpoint.ckpt, train_state.pt, metrics.jsonl (and TensorBoard if installed).")
@click.option("--align-corners", is_flag=True, help="Train with align_corners=True resizes (the Kit's cheaper Interp "
                                                    "path at export); recorded in the checkpoint.")
@click.option("--preset", default=DEFAULT_PRESET, show_default=True, type=click.Choice(list(PRESETS)),
              help="Training crop size (and the preset recorded in the checkpoint).")
@click.option("--size", metavar="WxH", help="Override the preset's size.")
@click.option("--iterations", type=click.IntRange(min=1), default=1000, show_default=True)
@click.option("--batch-size", type=click.IntRange(min=1), default=8, show_default=True,
              help="Global batch; torchrun processes split it.")
@click.option("--lr", type=float, default=1e-4, show_default=True)
@click.option("--optimizer", type=click.Choice(["adamw", "sgd"]), default="adamw", show_default=True,
              help="sgd: MODNet's momentum 0.9 with the lr divided by 10 each quarter of the run.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--save-every", type=click.IntRange(min=1), default=100, show_default=True)
@click.option("--freeze-bn", is_flag=True, help="Keep BatchNorm on its running statistics (small batches). Without "
                                             "it, torchrun on GPU syncs BatchNorm; on CPU each process uses its own.")
@click.option("--resume", is_flag=True, help="Continue the run in --out from its last saved step.")
@click.option("--force", is_flag=True, help="Start over in a non-empty --out.")
def train(data, kind, backgrounds, init, out, align_corners, preset, size, iterations, batch_size, lr, optimizer,
          seed, save_every, freeze_bn, resume, force):
    """Fine-tune MODNet with the previous-alpha input (MODNet's losses; previous-alpha dropout and affine,
    lighting, crop and flip augmentations). Runs on CPU, one GPU, or many through torchrun:

    \b
      edgematte train --data clips --backgrounds bgs --init modnet_webcam_portrait_matting.ckpt --out runs/x
      torchrun --nproc_per_node=2 -m edgematte train --data clips ... --out runs/x
    """
    from edgematte import api

    rank = int(os.environ.get("RANK", "0"))
    with click.progressbar(length=iterations, label="training", file=sys.stderr, show_pos=True) as bar:
        if resume:
            from edgematte.train.trainer import STATE_FILE

            state = out / STATE_FILE
            if state.exists():
                import torch

                bar.update(int(torch.load(state, map_location="cpu", weights_only=True)["step"]))
        result = api.train(data, out, kind, backgrounds, init, align_corners, preset, size, iterations, batch_size, lr,
                           optimizer, seed, save_every, freeze_bn, resume, force, log=_log,
                           on_step=lambda step, loss: bar.update(1))
    if rank == 0:
        first, last = result.losses[:5], result.losses[-5:]
        click.echo(f"Trained to step {result.steps}: loss {sum(first) / len(first):.4f} (first 5) -> "
                   f"{sum(last) / len(last):.4f} (last 5), {result.seconds_per_step:.2f} s per step. "
                   f"Checkpoint: {result.checkpoint}")
        click.echo(f"Next: edgematte export --checkpoint {result.checkpoint} --out out/hilens")
