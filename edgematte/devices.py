"""The device families edgematte compiles for: one record each, read by the routes, the compiler commands,
the bundle README and the CLI. Adding a family is one record here (and, if it needs one, a route).

Facts and their sources: ../shared/docs/ascend-boards-2026.md (CANN support per chip, from the atc
``--soc_version`` pages of each CANN release) and ascend-hilens-facts.md (the Kit's DDK omg and runtime).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DeviceFamily:
    name: str             # the manifest's "device" (and what a --device option will take)
    title: str            # what users call the boards
    soc_version: str      # the compiler's --soc_version (omg: the chip the DDK targets)
    compiler: str         # "omg" (HiLens DDK) or "atc" (CANN): export/commands.py renders its command
    toolchain: str        # which releases of the compiler list this chip, and where it runs
    # the app's scaler: smallest and largest (width, height) it outputs, so the network input's bounds
    resize_range: tuple[tuple[int, int], tuple[int, int]] | None = None
    display_max: tuple[int, int] | None = None  # the largest frame its display output shows (width, height)


DEVICES: dict[str, DeviceFamily] = {d.name: d for d in (
    # HiLens Framework (github huaweicloud/HiLens-Lab): hilens.Preprocessor.resize outputs even sizes from
    # 64x64 to 1920x1080, and the skill feeds the network through it; Display(HDMI) is 1080p
    # (libhilens/display_hdmi.cpp). The stand-in (standin/hilens.py) and the skill read both from here.
    DeviceFamily("hilens-kit", "HiLens Kit", "Ascend310", "omg", "HiLens DDK (an x86 Ubuntu DDK host)",
                 resize_range=((64, 64), (1920, 1080)), display_max=(1920, 1080)),
    DeviceFamily("ascend310", "Atlas 200 DK / 300 / 500, first-generation Ascend 310", "Ascend310", "atc",
                 "CANN up to 8.2.RC1 (8.3.RC1 and later no longer list Ascend310)"),
)}
