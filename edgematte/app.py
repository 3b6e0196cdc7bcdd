"""The AscendCL app for the CANN boards (310, 310B, 310P): the template ``skills/ascendcl/main.py`` rendered into a
bundle's ``app/main.py`` from the spec and the device family's record.

Like the HiLens skill (:mod:`edgematte.skill`, whose settings' defaults it shares), it is plain Python of the
board's image with ``${name}`` placeholders; it imports only ``acl`` (pyACL, installed with CANN), numpy, cv2
and the standard library, which :func:`app_problems` checks. On a laptop, ``edgematte run`` runs it unchanged
against the ``acl`` stand-in (:mod:`edgematte.standin.acl`).
"""

from __future__ import annotations

from dataclasses import asdict
from string import Template
from typing import TYPE_CHECKING

from edgematte import __version__
from edgematte.bundle import file_name
from edgematte.devices import DeviceFamily
from edgematte.skill import MAIN_FILE, MODES, SkillDefaults, device_problems, refiner_values, template_dir
from edgematte.spec import PipelineSpec

if TYPE_CHECKING:
    from edgematte.bundle import BundleWriter

TEMPLATE_NAME = "ascendcl"
APP_IMPORTS = {"acl", "numpy", "cv2"}  # besides the standard library


def render_app(spec: PipelineSpec, device: DeviceFamily, refiner: PipelineSpec | None = None,
               defaults: SkillDefaults = SkillDefaults()) -> str:
    text = (template_dir(TEMPLATE_NAME) / MAIN_FILE).read_text()
    values = {**asdict(defaults), "edgematte_version": __version__, "preset": spec.name, "title": device.title,
              "soc_version": device.soc_version, "python": ".".join(map(str, device.python)),
              "model_file": file_name("om"), "width": spec.width, "height": spec.height, "modes": repr(MODES),
              **refiner_values(refiner)}
    return Template(text).substitute(values)


def write_app(bundle: "BundleWriter", spec: PipelineSpec, device: DeviceFamily,
              refiner: PipelineSpec | None = None) -> list[str]:
    """Write ``app/main.py`` into ``bundle`` (with the refiner stage for ``refiner``); returns its role."""
    bundle.path("app").write_text(render_app(spec, device, refiner))
    return ["app"]


def app_problems(source: str, device: DeviceFamily) -> list[str]:
    """Why ``source`` would not run on ``device``'s board image."""
    return device_problems(source, device.python, APP_IMPORTS, f"{device.title}'s image")
