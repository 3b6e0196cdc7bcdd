"""The device families edgematte compiles for: one record each, read by the routes, the compiler commands
and ``convert.sh``, the AIPP writer, the app generator, ``run``, the bundle README and the CLI
(``export --device``). Adding a family is one record here (and, if it needs one, a route).

Sources ([C] seen in a public document, [I] inferred; ../shared/docs/ascend-boards-2026.md gathers them):

- CANN support per chip: the ``atc --soc_version`` pages of each CANN release [C]: first-generation
  ``Ascend310`` ("Atlas 200/300/500 inference products") up to 8.2.RC1; from 8.3.RC1 on only 310B/310P. The 310B's
  floor is 6.2: public atc runs with ``--soc_version=Ascend310B1`` under CANN 6.2.RC1 exist, and an Atlas 200I DK
  A2 image shipped 6.2.RC1 (found when issue 28 was filed; 6.2's own release notes were not read here) [I]. The
  310P was named Ascend710 before the rename, and older drivers' ``npu-smi`` may show ``710`` [C, issue 28].
- An .om runs on a CANN runtime of the release that compiled it or newer (Huawei's compatibility rule, as cited
  in issue 28) [I]: convert.sh says which runtime the board needs; the window above is the compiler's side.
- Which board is which 310B: Ascend's own samples for the Atlas 200I DK A2 (gitee ascend/EdgeAndRobotics,
  e.g. Samples/YOLOV5MultiInput/README.md, run on the board as HwHiAiUser) convert with
  ``--soc_version=Ascend310B4`` [C]; public Orange Pi AIpro projects convert with ``Ascend310B4`` on the
  8 TOPS board (shell prompt ``HwHiAiUser@orangepiaipro``) [C] and the 20 TOPS board reports ``310B1`` in
  ``npu-smi info`` [C]. Atlas 300I Pro / Duo: ``Ascend310P3`` [C].
- ONNX accepted by atc: CANN 5.0.4 documents ONNX 1.8 with opset 9-13; CANN 8.x/9.0 ONNX 1.12 (opset up to
  17), checked per operator [C]. The windows below are the intersection over each family's CANN range.
- Python of the board images: the HiLens Kit's skills run Python 3.7 (ascend-hilens-facts.md) [C]; CANN up
  to 5.x required Python 3.7.5 [C]; the Orange Pi AIpro / 200I DK A2 images ship a Miniconda Python 3.9 [I].
  The generated app is checked against the family's version (and all are 3.7-compatible).
"""

from __future__ import annotations

from dataclasses import dataclass

from edgematte.compilers import ATC, OMG, Compiler

# The app a family's bundle carries (its record: edgematte.apps): the HiLens skill, or the AscendCL app
HILENS_SKILL, ACL_APP = "hilens_skill", "acl_app"
# The AIPP input formats of the frames an app feeds (aipp.py writes and emulates both): YUV420SP (NV21), which
# the Kit's camera gives and the AscendCL app makes of OpenCV's frames for DVPP (edgematte/pictures.py); and packed
# RGB888, which no app feeds now (an AIPP config of a user's may still use it).
YUV420SP, RGB888 = "YUV420SP_U8", "RGB888_U8"


@dataclass(frozen=True)
class BoardCpu:
    """Where the app's own host work runs, as far as the sources say ([C] seen in a public document, [I] inferred).

    ``slowdown`` turns a millisecond of one core of the machine ``bench`` runs on (an x86 server core) into the
    board's: an order-of-magnitude **estimate** from the core's clock and class against a ~3 GHz x86 core with
    256-bit SIMD (OpenCV's kernels use 128-bit NEON on ARM), not a benchmark. The app's own timing line on the
    board (``ms/frame``) is what measures it."""

    cores: int        # cores the app's threads can use
    core: str         # what they are
    slowdown: float   # this machine's CPU ms x slowdown = the board's (estimate, see above)
    source: str       # where the facts come from


@dataclass(frozen=True)
class MediaUnit:
    """The chip's DVPP as the AscendCL app uses it (JPEGD decodes a USB camera's MJPEG frames, VPC scales each
    frame, JPEGE encodes the preview): the time of one 1080p picture, scaled by pixels for others."""

    ms_1080p: float        # one 1920x1080 picture through JPEGE; VPC's resize taken as no slower
    jpegd_ms_1080p: float  # one 1920x1080 JPEG through JPEGD
    source: str


@dataclass(frozen=True)
class DeviceFamily:
    name: str             # the manifest's "device", and what --device takes
    title: str            # what users call the boards
    soc_version: str      # the compiler's --soc_version (omg: the chip the DDK targets)
    compiler: Compiler    # its record (compilers.py): OMG (HiLens DDK) or ATC (CANN)
    host: str             # where the compiler runs
    app: str              # the name of its app's record (apps.py): what the bundle carries to run on the board
    input_format: str     # the AIPP input_format of the frames the app feeds (aipp.py)
    python: tuple[int, int]  # the Python of the board's image: the generated app must parse as it
    cann: tuple[str | None, str | None] | None = None  # (oldest, newest) CANN "major.minor" whose atc lists the chip
    opset: tuple[int, int] | None = None  # the ONNX opset window the family's atc releases all accept
    # the app's scaler: smallest and largest (width, height) it outputs, so the network input's bounds
    resize_range: tuple[tuple[int, int], tuple[int, int]] | None = None
    display_max: tuple[int, int] | None = None  # the largest frame its display output shows (width, height)

    old_names: tuple[str, ...] = ()  # what older drivers' npu-smi called the chip (310P: 710, before the rename)
    board_cpu: BoardCpu | None = None  # where the app's host work runs (bench --device's loop prediction)
    media: MediaUnit | None = None     # the DVPP its app uses (None: the app uses none)

    @property
    def npu_name(self) -> str:
        """The chip as ``npu-smi info`` names it (``310B4`` for ``Ascend310B4``)."""
        return self.soc_version.removeprefix("Ascend")

    @property
    def npu_names(self) -> tuple[str, ...]:
        return (self.npu_name, *self.old_names)

    @property
    def toolchain(self) -> str:
        """Which releases of the compiler list this chip, and where it runs."""
        if self.cann is None:
            return f"the HiLens DDK's {self.compiler}, {self.host}"
        low, high = self.cann
        if high is None:
            return f"CANN {low} or later, {self.host}"
        return (f"CANN {f'{low} to' if low else 'up to'} {high} (later releases no longer list {self.soc_version}), "
                f"{self.host}")

    @property
    def cann_text(self) -> str:
        if self.cann is None:
            return "-"
        low, high = self.cann
        return f"{low or 'any'} .. {high or 'latest'}"


# The boards' CPUs (ascend-boards-2026.md, ascend-hilens-facts.md). Slowdowns: estimates (BoardCpu's docstring).
_TAISHAN = BoardCpu(3, "TaiShanV200M at 1.0 GHz", 5.0,
                    "Atlas 200I DK A2 basic specs: 4 TaiShanV200M cores at 1.0 GHz; npu-smi's default split leaves 3 "
                    "control CPUs beside 1 AI CPU [C]; the 310B1 board taken to be the same [I]; slowdown [I]")
_KIT_CPU = BoardCpu(2, "Hi3559A (Cortex-A73 class)", 4.0,
                    "HiLens Kit: the host CPU is a Hi3559A [C]; its application cores taken as two Cortex-A73-class "
                    "cores at about 1.6 GHz [I]; slowdown [I]")
_A55 = BoardCpu(7, "Cortex-A55 class at about 1.6 GHz", 8.0,
                "Atlas 200 DK: the Ascend 310's own ARM cores run the app (taken as 8 Cortex-A55-class cores, one "
                "kept by the system) [I]; slowdown [I]; on an Atlas 300 card the app runs on the x86 host instead")
_X86_HOST = BoardCpu(4, "the x86 server the card sits in", 1.0,
                     "Atlas 300I Pro / Duo are PCIe cards: the app runs on the host server's cores [C]; 4 of them "
                     "taken for the app and a server core taken as this machine's [I]")

_DVPP_310B = MediaUnit(1000 / 256, 1000 / 512, "Atlas 200I DK A2 basic specs: JPEG encode of 1080p at 256 fps, "
                                                "decode at 512 fps [C]; VPC's resize taken as no slower than the "
                                                "encoder (no public VPC throughput found) [I]")
_DVPP_TAKEN = MediaUnit(_DVPP_310B.ms_1080p, _DVPP_310B.jpegd_ms_1080p,
                        "taken as the 310B4's published JPEG rates (no figure found for this chip) [I]")

_CANN_OPSETS = (9, 13)  # CANN 5.0.4's documented window, also inside CANN 8.x's: every atc release takes it

DEVICES: dict[str, DeviceFamily] = {d.name: d for d in (
    # HiLens Framework (github huaweicloud/HiLens-Lab): hilens.Preprocessor.resize outputs even sizes from
    # 64x64 to 1920x1080 from sources in the same range, and the skill feeds the network through it; Display(HDMI) is 1080p
    # (libhilens/display_hdmi.cpp). The Kit's camera gives NV21. The stand-in and the skill read these here.
    DeviceFamily("hilens-kit", "HiLens Kit", "Ascend310", OMG, "on an x86 Ubuntu DDK host",
                 HILENS_SKILL, YUV420SP, (3, 7), resize_range=((64, 64), (1920, 1080)), display_max=(1920, 1080),
                 board_cpu=_KIT_CPU),
    # The AscendCL app reads a USB/UVC camera, file or RTSP stream with OpenCV, converts each frame to NV21 once,
    # and DVPP's VPC scales it onto the network's input (standin/dvpp.py holds each chip's DVPP rules).
    DeviceFamily("ascend310", "Atlas 200 DK / 300 / 500, first-generation Ascend 310", "Ascend310", ATC,
                 "on an x86 or arm host", ACL_APP, YUV420SP, (3, 7),
                 cann=(None, "8.2"), opset=_CANN_OPSETS, board_cpu=_A55, media=_DVPP_TAKEN),
    DeviceFamily("ascend310b4", "Atlas 200I DK A2, Orange Pi AIpro 8T", "Ascend310B4", ATC,
                 "on the board or an x86/arm host", ACL_APP, YUV420SP, (3, 9),
                 cann=("6.2", None), opset=_CANN_OPSETS, board_cpu=_TAISHAN, media=_DVPP_310B),
    DeviceFamily("ascend310b1", "Orange Pi AIpro 20T", "Ascend310B1", ATC,
                 "on the board or an x86/arm host", ACL_APP, YUV420SP, (3, 9),
                 cann=("6.2", None), opset=_CANN_OPSETS, board_cpu=_TAISHAN, media=_DVPP_TAKEN),
    DeviceFamily("ascend310p3", "Atlas 300I Pro / Duo", "Ascend310P3", ATC,
                 "on the card's host", ACL_APP, YUV420SP, (3, 7),
                 cann=("5.1", None), opset=_CANN_OPSETS, old_names=("710",), board_cpu=_X86_HOST,
                 media=_DVPP_TAKEN),
)}
DEFAULT_DEVICE = "hilens-kit"


def families_compiled_by(compiler: Compiler) -> tuple[DeviceFamily, ...]:
    return tuple(d for d in DEVICES.values() if d.compiler is compiler)


def families_running(app: str) -> tuple[DeviceFamily, ...]:
    return tuple(d for d in DEVICES.values() if d.app == app)


def devices_table() -> str:
    """The device families as Markdown (docs/ascend-boards.md shows it; a test keeps the two equal)."""
    rows = ["| `--device` | boards | `--soc_version` | compiler | CANN | ONNX opsets | app | frames fed | Python |",
            "|---|---|---|---|---|---|---|---|---|"]
    for d in DEVICES.values():
        opsets = f"{d.opset[0]}-{d.opset[1]}" if d.opset else "- (Caffe)"
        rows.append(f"| `{d.name}`{' (default)' if d.name == DEFAULT_DEVICE else ''} | {d.title} | "
                    f"`{d.soc_version}` | `{d.compiler}` | {d.cann_text} | {opsets} | {d.app} | "
                    f"`{d.input_format}` | {d.python[0]}.{d.python[1]} |")
    return "\n".join(rows)
