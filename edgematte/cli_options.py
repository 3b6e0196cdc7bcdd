"""Options several ``edgematte`` commands share, declared once with one help text each."""

from __future__ import annotations

from pathlib import Path

import click

from edgematte.bundle import REFINER_FOLDER, file_name
from edgematte.devices import DEFAULT_DEVICE, DEVICES
from edgematte.export.routes import ROUTES
from edgematte.spec import DEFAULT_PRESET, MNET, PRESETS

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
    "--refiner", type=click.Choice([MNET]),
    help="With --to om: put SHM's M-Net beside MODNet; the app refines the most uncertain crop of each matte with "
         f"it (its files under {REFINER_FOLDER}/, a second compiler command in {file_name('convert_script')}).")
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
    click.option("--refiner-size", metavar="WxH", help="The refiner's crop, in camera pixels (default 320x320)."),
    refiner_width_option)
