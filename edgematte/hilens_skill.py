"""The HiLens skill: the template in the top-level ``skills/`` rendered into a bundle's ``skill/`` from the spec.

The template is a Python 3.7 program with its per-bundle values in one settings block
(:mod:`edgematte.templates`); every value comes from the spec, the family or :class:`SkillDefaults`, so nothing
is typed twice.
"""

from __future__ import annotations

import ast
import json
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from edgematte import __version__
from edgematte.bundle import file_name
from edgematte.devices import HILENS_SKILL
from edgematte.loop import MIN_COVERAGE, RESET_THRESHOLD
from edgematte.spec import PipelineSpec
from edgematte.templates import render_template, template_source

if TYPE_CHECKING:
    from edgematte.bundle import BundleWriter

TEMPLATE_NAME = HILENS_SKILL  # skills/hilens_skill/
DEVICE_IMPORTS = {"hilens", "numpy", "cv2"}  # besides the standard library


MODES = ("composite", "alpha", "side-by-side")


@dataclass(frozen=True)
class SkillDefaults:
    check_value: str = "edgematte"   # hilens.init's argument; enter the same value in the HiLens console
    background: str = "blur"         # "blur", "#rrggbb" or an image file
    background_file: str = ""        # an image uploaded as a console file parameter; replaces background
    mode: str = "composite"          # one of MODES
    reset_threshold: float = RESET_THRESHOLD  # mean abs luma change (0-255) that drops the previous alpha
    min_coverage: float = MIN_COVERAGE        # below this share of pixels above 0.5, the person has left
    log_every: int = 100             # frames between timing logs


# The runtime config items as the HiLens console asks for them (name, type int/float/enum/string/file,
# range, default, description): written into the bundle, and read by the skill for its range checks.
CONFIG_ITEMS = (
    {"name": "background", "type": "string",
     "description": "blur, a colour #rrggbb, or an image file name in the skill's workspace or model folder"},
    {"name": "background_file", "type": "file",
     "description": "an image uploaded here; when given, it replaces background"},
    {"name": "mode", "type": "enum", "values": list(MODES),
     "description": "composite; alpha (the matte as grey); side-by-side (camera | result, scaled down to fit HDMI)"},
    {"name": "reset_threshold", "type": "float", "range": [0, 255],
     "description": "mean luma change between frames (0-255) above which the previous alpha is dropped"},
    {"name": "min_coverage", "type": "float", "range": [0, 1],
     "description": "below this share of the matte's pixels above 0.5 the person has left and the previous alpha is dropped"},
    {"name": "log_every", "type": "int", "range": [1, 1000000], "description": "frames between timing logs"},
)


def config_items(defaults: SkillDefaults = SkillDefaults()) -> list[dict]:
    return [{**item, "default": getattr(defaults, item["name"])} for item in CONFIG_ITEMS]


def refiner_settings(refiner: PipelineSpec | None) -> dict:
    """The settings of the apps' refiner stage (``REFINER_FILE`` None: no refiner)."""
    from edgematte.bundle import refiner_file

    if refiner is None:
        return {"REFINER_FILE": None, "REF_W, REF_H": (0, 0)}
    return {"REFINER_FILE": refiner_file("om", refiner.model), "REF_W, REF_H": (refiner.width, refiner.height)}


def generated_by(spec: PipelineSpec) -> str:
    return f"edgematte {__version__}, preset {spec.name}"


def render_main(spec: PipelineSpec, family, defaults: SkillDefaults = SkillDefaults(),
                refiner: PipelineSpec | None = None, feedback: bool = True) -> str:
    """The skill for ``family`` (its HDMI size) and ``spec``, with the refiner stage for ``refiner``; ``feedback``
    False: the model was trained on zero previous alphas only (its checkpoint says so), so the skill feeds zeros."""
    settings = {"GENERATED_BY": generated_by(spec), "CHECK_VALUE": defaults.check_value,
                "MODEL_FILE": file_name("om"), "NET_W, NET_H": (spec.width, spec.height), "FEEDBACK": feedback,
                "DEFAULTS": {k: v for k, v in asdict(defaults).items() if k != "check_value"}, "MODES": MODES,
                "RANGES": {item["name"]: item["range"] for item in CONFIG_ITEMS if "range" in item},
                **refiner_settings(refiner), "HDMI_W, HDMI_H": family.display_max}
    return render_template(template_source(TEMPLATE_NAME), settings)


def write_skill(bundle: "BundleWriter", spec: PipelineSpec, family, refiner: PipelineSpec | None = None,
                defaults: SkillDefaults = SkillDefaults(), feedback: bool = True) -> list[str]:
    """Write the skill's main file (with the refiner stage for ``refiner``), its default runtime settings and
    the console's description of them into ``bundle``; returns their roles."""
    bundle.path("skill").write_text(render_main(spec, family, defaults, refiner, feedback))
    config = {k: v for k, v in asdict(defaults).items() if k != "check_value"}
    bundle.path("skill_config").write_text(json.dumps(config, indent=2) + "\n")
    bundle.path("skill_config_items").write_text(json.dumps(config_items(defaults), indent=2) + "\n")
    return ["skill", "skill_config", "skill_config_items"]


def device_problems(source: str, python: tuple[int, int], device_imports: set[str] = DEVICE_IMPORTS,
                    where: str = "the Kit") -> list[str]:
    """Why ``source`` would not run on a board: not valid in its Python (grammar; the standard library is
    held to 3.7's module list, :mod:`edgematte.py37_stdlib`, the oldest any family runs), or imports beyond
    ``device_imports`` (for the Kit: hilens/numpy/cv2)."""
    from edgematte.py37_stdlib import PY37_STDLIB

    version = ".".join(map(str, python))
    try:
        tree = ast.parse(source, feature_version=python)
    except SyntaxError as e:
        return [f"not valid Python {version}: line {e.lineno}: {e.msg}"]
    allowed = set(device_imports) | PY37_STDLIB
    problems = []
    for node in ast.walk(tree):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
            [node.module or ""] if isinstance(node, ast.ImportFrom) else []
        for name in names:
            if name.split(".")[0] not in allowed:
                problems.append(f"line {node.lineno}: imports {name}, which {where} does not have")
    return problems
