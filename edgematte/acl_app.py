"""The AscendCL app for the CANN boards (310, 310B, 310P): the template ``skills/acl_app/main.py`` rendered into a
bundle's ``app/main.py`` from the spec and the device family's record.

Like the HiLens skill (:mod:`edgematte.hilens_skill`, whose settings' defaults it shares), it is a Python program of
the board's image with its per-bundle values in one settings block (:mod:`edgematte.templates`); it imports only ``acl`` (pyACL, installed with CANN), numpy, cv2
and the standard library, which :func:`app_problems` checks. On a laptop, ``edgematte run`` runs it unchanged
against the ``acl`` stand-in (:mod:`edgematte.standin.acl`).
"""

from __future__ import annotations

import ast

from dataclasses import asdict
from typing import TYPE_CHECKING

from edgematte.bundle import file_name
from edgematte.devices import ACL_APP, DeviceFamily
from edgematte.hilens_skill import MODES, SkillDefaults, device_problems, generated_by, refiner_settings
from edgematte.spec import PipelineSpec
from edgematte.standin.dvpp import rules_for  # each chip's DVPP rules, from CANN's docs: one table for app and stand-in
from edgematte.templates import render_template, template_source

if TYPE_CHECKING:
    from edgematte.bundle import BundleWriter

TEMPLATE_NAME = ACL_APP  # skills/acl_app/
APP_IMPORTS = {"acl", "numpy", "cv2"}  # besides the standard library


def render_app(spec: PipelineSpec, device: DeviceFamily, refiner: PipelineSpec | None = None,
               feedback: bool = True, defaults: SkillDefaults = SkillDefaults()) -> str:
    """The app for ``device`` and ``spec`` (``feedback`` as :func:`edgematte.hilens_skill.render_main`'s)."""
    settings = {"GENERATED_BY": generated_by(spec), "TITLE": device.title, "SOC_VERSION": device.soc_version,
                "PYTHON": ".".join(map(str, device.python)), "MODEL_FILE": file_name("om"),
                "NET_W, NET_H": (spec.width, spec.height), "FEEDBACK": feedback, **refiner_settings(refiner),
                "JPEGD_WIDTH_ALIGN": rules_for(device.soc_version).jpegd_width_align, "MODES": MODES,
                "DEFAULTS": {k: v for k, v in asdict(defaults).items() if k not in ("check_value", "background_file")}}
    return render_template(template_source(TEMPLATE_NAME), settings)


def write_app(bundle: "BundleWriter", spec: PipelineSpec, device: DeviceFamily,
              refiner: PipelineSpec | None = None, feedback: bool = True) -> list[str]:
    """Write ``app/main.py`` into ``bundle`` (with the refiner stage for ``refiner``); returns its role."""
    bundle.path("app").write_text(render_app(spec, device, refiner, feedback))
    return ["app"]


def pyacl_requirement() -> str:
    """What the app needs of the board's CANN, read from the template's ``PYACL_CALLS`` / ``PYACL_FLOOR`` (their one
    owner: the app checks them itself at start)."""
    tree = ast.parse(template_source(TEMPLATE_NAME))
    values = {node.targets[0].id: ast.literal_eval(node.value) for node in tree.body
              if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
              and node.targets[0].id in ("PYACL_CALLS", "PYACL_FLOOR")}
    return (f"It needs CANN {values['PYACL_FLOOR']} or later on the board: it calls "
            f"{' and '.join(values['PYACL_CALLS'])}, in pyACL's reference from that release on (on an older one it "
            f"stops at start and says so).")


def app_problems(source: str, device: DeviceFamily) -> list[str]:
    """Why ``source`` would not run on ``device``'s board image."""
    return device_problems(source, device.python, APP_IMPORTS, f"{device.title}'s image")
