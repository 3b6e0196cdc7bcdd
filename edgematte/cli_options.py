"""Options several ``edgematte`` commands share, declared once with one help text each."""

from __future__ import annotations

from pathlib import Path

import click

from edgematte.devices import DEFAULT_DEVICE, DEVICES
from edgematte.export.routes import ROUTES
from edgematte.spec import DEFAULT_PRESET, PRESETS

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
