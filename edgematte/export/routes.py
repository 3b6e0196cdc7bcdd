"""The export routes: one table, read by the CLI (``--to``/``--via`` choices and help), the API's checks,
the writer (:mod:`edgematte.export.writer`), README's route table and the tests.

A route says what the bundle holds and for which device: whether it carries the ONNX, whether it lowers
to the HiLens Kit's Caffe subset, which device family's compiler command it carries (that family's
record in :mod:`edgematte.devices` gives the compiler, ``--soc_version`` and toolchain), whether the
CPU stand-in's INT8 model applies, and whether it carries AIPP and the app. Adding a route is one
record here; adding a device family is one record in ``devices.py`` named by a route.
"""

from __future__ import annotations

from dataclasses import dataclass

from edgematte.bundle import file_name
from edgematte.compilers import ATC
from edgematte.devices import DEFAULT_DEVICE, DEVICES, DeviceFamily, families_compiled_by
from edgematte.errors import SpecError, lookup
from edgematte.spec import PipelineSpec

# MODNet's IBNorm runs at these fractions of the input size (InstanceNorm means over each map).
IN_MAP_SCALES = (1, 2, 4, 8, 16)


@dataclass(frozen=True)
class Route:
    to: str                      # --to
    via: str | None              # --via (routes to a device compiler), None where there is no choice
    summary: str
    onnx: bool                   # the bundle carries the ONNX (for atc, onnxruntime and the stand-in)
    caffe: bool                  # lowered to Caffe in the HiLens Kit's operator subset
    devices: tuple[str, ...] = ()  # device families whose compiler command (convert.sh) and AIPP it carries
    int8: bool = False           # --int8 applies (an INT8 ONNX for the CPU stand-in)
    default: bool = False        # the route --to picks without --via

    @property
    def name(self) -> str:
        return self.to + (f" --via {self.via}" if self.via else "")

    @property
    def default_family(self) -> DeviceFamily | None:
        """The family the route compiles for without ``--device`` (the first it serves)."""
        return DEVICES[self.devices[0]] if self.devices else None

    def family(self, name: str | None = None) -> DeviceFamily | None:
        """The device family ``--device name`` selects on this route (its default without one); a family
        the route does not serve is a one-line error naming the route that does."""
        if name is None:
            return self.default_family
        family = lookup(DEVICES, name, "device")
        if name not in self.devices:
            if not self.devices:
                raise SpecError(f"--device applies to --to {' / --to '.join(sorted({r.to for r in ROUTES if r.devices}))} "
                                f"only, not --to {self.to}")
            serving = [r for r in ROUTES if name in r.devices]
            raise SpecError(f"--device {name} ({family.title}) compiles with {family.compiler} from "
                            f"{'Caffe' if family.compiler.reads == 'caffe' else 'ONNX'}: use --to {serving[0].name}, not --to {self.name}")
        return family

    def size_problems(self, spec: PipelineSpec, family: DeviceFamily | None = None) -> list[str]:
        """What in the spec this route's rules, and ``family``'s (default: the route's), reject, found before
        any work is done."""
        from edgematte.aipp import aipp_from_spec, aipp_problems
        from edgematte.export.caffe.lowering import exact_mean_kernel
        from edgematte.export.caffe.rules import GLOBAL_POOL_MAX_PIXELS

        problems = []
        device = family or self.default_family
        if device is not None:
            problems += [f"AIPP: {p}" for p in aipp_problems(aipp_from_spec(spec, device), spec)]
            if device.resize_range:
                (min_w, min_h), (max_w, max_h) = device.resize_range
                if not (min_w <= spec.width <= max_w and min_h <= spec.height <= max_h):
                    problems.append(f"the {device.title}'s app feeds the network through a resize to "
                                    f"{min_w}x{min_h} .. {max_w}x{max_h}")
            if device.opset and not device.opset[0] <= spec.opset <= device.opset[1]:
                problems.append(f"ONNX opset {spec.opset} is outside {device.title}'s atc window "
                                f"{device.opset[0]}-{device.opset[1]}")
        if self.caffe and spec.network.instance_norm:
            for s in IN_MAP_SCALES:
                h, w = spec.height // s, spec.width // s
                if exact_mean_kernel(h, w) is None:
                    problems.append(f"the InstanceNorm mean over the {w}x{h} map (1/{s} of the input) cannot be "
                                    f"split into exact average poolings under the HiLens Kit's "
                                    f"{GLOBAL_POOL_MAX_PIXELS}-pixel global-pooling limit")
                    break
        return problems


_AIPP, _CONVERT = file_name("aipp"), file_name("convert_script")
ROUTES: tuple[Route, ...] = (
    Route("om", "caffe", f"HiLens Kit: Caffe in the Kit's operator subset + {_AIPP} + {_CONVERT} for DDK omg, "
                         f"and the HiLens skill", onnx=True, caffe=True, devices=(DEFAULT_DEVICE,), int8=True,
          default=True),
    Route("om", "onnx", f"Ascend 310 / 310B / 310P boards (--device): ONNX prepared for atc + {_AIPP} + "
                        f"{_CONVERT} for CANN atc, and the AscendCL app",
          onnx=True, caffe=False, devices=tuple(d.name for d in families_compiled_by(ATC)), int8=True),
    Route("onnx", None, "the static two-input ONNX alone (onnxruntime, or your own atc command)",
          onnx=True, caffe=False, int8=True),
    Route("caffe", None, "the prototxt + caffemodel in the HiLens Kit's Caffe subset alone",
          onnx=False, caffe=True),
)

TARGETS: tuple[str, ...] = tuple(dict.fromkeys(r.to for r in ROUTES))
VIAS: tuple[str, ...] = tuple(dict.fromkeys(r.via for r in ROUTES if r.via))
DEFAULT_TARGET = next(r.to for r in ROUTES if r.default)


def find_route(to: str, via: str | None = None, device: str | None = None) -> Route:
    """The route for ``--to to [--via via] [--device device]``; a combination the table lacks is a one-line
    error (``Route.family`` says which route serves the device)."""
    lookup(dict.fromkeys(TARGETS), to, "target")
    routes = [r for r in ROUTES if r.to == to]
    if via is None and device is not None:
        serving = [r for r in routes if device in r.devices]
        if serving:
            return serving[0]
    if via is None:
        return next((r for r in routes if r.default or r.via is None), routes[0])
    chosen = [r for r in routes if r.via == via]
    if not chosen:
        vias = [r.via for r in routes if r.via]
        if not vias:
            raise SpecError(f"--via chooses the route to the device compiler and applies to "
                            f"--to {' / --to '.join(sorted({r.to for r in ROUTES if r.via}))} only, not {to!r}")
        raise SpecError(f"unknown route {via!r} for --to {to}; use one of {', '.join(vias)}")
    return chosen[0]


def routes_table() -> str:
    """The route table as Markdown (README.md shows it; a test keeps the two equal)."""
    rows = ["| export flags | `--device` (first: default) | compiler | INT8 for the stand-in | the bundle holds |",
            "|---|---|---|---|---|"]
    for r in ROUTES:
        d = r.default_family
        families = ", ".join(f"`{n}`" for n in r.devices) or "-"
        rows.append(f"| `--to {r.name}`{' (default)' if r.default else ''} | {families} | "
                    f"{f'`{d.compiler}`' if d else '-'} | {'yes' if r.int8 else 'no'} | {r.summary} |")
    return "\n".join(rows)
