"""The device families edgematte compiles for: one record each, read by the routes, the compiler commands,
the bundle README and the CLI. Adding a family is one record here (and, if it needs one, a route).

Facts and their sources: ../shared/docs/ascend-boards-2026.md (CANN support per chip, from the atc
``--soc_version`` pages of each CANN release) and ascend-hilens-facts.md (the Kit's DDK omg and runtime).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from edgematte.errors import SpecError


@dataclass(frozen=True)
class DeviceFamily:
    name: str             # what --device will take (issue 15), and the manifest's "device"
    title: str            # what users call the boards
    chip: str
    soc_version: str      # the compiler's --soc_version (omg: the chip the DDK targets)
    compiler: str         # "omg" (HiLens DDK) or "atc" (CANN)
    toolchain: str        # which releases of the compiler list this chip
    camera_format: str    # what the board's app feeds the image input
    python: str           # the Python of the board's image, which its app must run on
    app: str | None       # the app edgematte generates for it ("hilens-skill"), None while there is none


DEVICES: dict[str, DeviceFamily] = {d.name: d for d in (
    DeviceFamily("hilens-kit", "HiLens Kit", "Ascend 310", "Ascend310", "omg",
                 "HiLens DDK (HiLens Studio terminal or a DDK host)", "NV21", "3.7", "hilens-skill"),
    DeviceFamily("ascend310", "Atlas 200 DK / 300 / 500, first-generation Ascend 310", "Ascend 310", "Ascend310",
                 "atc", "CANN up to 8.2.RC1 (8.3.RC1 and later no longer list Ascend310)", "NV21", "3.7", None),
)}


def get_device(name: str) -> DeviceFamily:
    try:
        return DEVICES[name]
    except KeyError:
        close = difflib.get_close_matches(name, DEVICES, n=1)
        hint = f"did you mean {close[0]}? " if close else ""
        raise SpecError(f"unknown device {name!r}; {hint}valid devices: {', '.join(DEVICES)}") from None
