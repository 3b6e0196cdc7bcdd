"""The apps a device bundle carries: one record each, named by the device families (:mod:`edgematte.devices`).
A record says which file of the bundle is the app, how it is rendered from its template, what it may import on
the board, which ``edgematte run`` options it takes and how ``run`` starts it on its device API's stand-in,
how the bundle README says to run it, and whether ``bench`` can time its loop. ``run``, ``bench``, ``export``
and the README ask the record; nothing else asks which app a bundle has.

Adding a kind of app is a template under ``skills/``, its device API's stand-in under ``standin/``, and a
record here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from edgematte.devices import ACL_APP, DEVICES, HILENS_SKILL, DeviceFamily, families_running
from edgematte.errors import BundleError, SpecError


def _write_skill(bundle, spec, family, refiner, feedback=True):
    from edgematte.hilens_skill import write_skill

    return write_skill(bundle, spec, family, refiner, feedback=feedback)


def _render_skill(spec, family, refiner=None, feedback=True) -> str:
    from edgematte.hilens_skill import render_main

    return render_main(spec, family, refiner=refiner, feedback=feedback)


def _write_acl_app(bundle, spec, family, refiner, feedback=True):
    from edgematte.acl_app import write_app

    return write_app(bundle, spec, family, refiner, feedback)


def _render_acl_app(spec, family, refiner=None, feedback=True) -> str:
    from edgematte.acl_app import render_app

    return render_app(spec, family, refiner, feedback)


def _skill_problems(source: str, family: DeviceFamily) -> list[str]:
    from edgematte.hilens_skill import DEVICE_IMPORTS, device_problems

    return device_problems(source, family.python, DEVICE_IMPORTS, "the Kit")


def _acl_app_problems(source: str, family: DeviceFamily) -> list[str]:
    from edgematte.acl_app import app_problems

    return app_problems(source, family)


def _acl_app_needs() -> str:
    from edgematte.acl_app import pyacl_requirement

    return pyacl_requirement()


def _run_skill(bundle, src, tmp, output, info, **options):
    from edgematte.run import run_skill

    return run_skill(bundle, src, tmp, output, info, **options)


def _run_acl_app(bundle, src, tmp, output, info, **options):
    from edgematte.run import run_acl_app

    return run_acl_app(bundle, src, tmp, output, info, **options)


@dataclass(frozen=True)
class App:
    name: str                  # what the device families name (devices.py)
    title: str                 # what messages call it
    role: str                  # its entry file's role in a bundle (bundle.py's LAYOUT)
    device_api: str            # the module it imports on the board, stood in for by standin/<device_api>.py
    run_options: frozenset[str]  # the `edgematte run` options only this app takes
    laptop_note: str           # the bundle README: how to run it on a laptop
    render: Callable           # (spec, family, refiner spec or None, feedback) -> its file's source for that bundle
    write: Callable            # (bundle writer, spec, family, refiner spec or None, feedback) -> the roles written
    problems: Callable         # (source, family) -> why it would not run on the family's board image
    run: Callable              # (bundle, source, partial output, output, VideoInfo, **options) -> RunResult
    benched: bool              # bench times its loop on the stand-in (else bench says so in one line)
    board_note: Callable = lambda: ""  # () -> what it needs of the board beyond the family's CANN window (README)
    # its threads and the stages each runs per frame (bench/host.py's stage names; "infer": the NPU, which the
    # thread waits for); the stages the device's own units do (camera, scaler, HDMI) are in none
    pipeline: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def __str__(self) -> str:
        return self.name

    def refuse_run_options(self, bundle_folder, **given) -> None:
        """One line naming an ``edgematte run`` option (``given``: option -> value, None when not given) that
        this app does not take, the app that does, and the export that makes such a bundle."""
        for option, value in given.items():
            if value is None or option in self.run_options:
                continue
            taker = next(a for a in APPS.values() if option in a.run_options)
            family = families_running(taker.name)[0]
            raise SpecError(f"--{option.replace('_', '-')} is taken by {taker.title} only; {bundle_folder} holds "
                            f"{self.title} (export with --to om --device {family.name} for {taker.title})")


APPS: dict[str, App] = {a.name: a for a in (
    App(HILENS_SKILL, "the HiLens skill", "skill", "hilens", frozenset({"rgba_dir"}),
        "the skill on a laptop with `edgematte run <this folder> --input clip.mp4 --output out.mp4`",
        _render_skill, _write_skill, _skill_problems, _run_skill, benched=True,
        # one thread: the HiLens Framework's SWIG wrapper holds Python's lock through Model.infer (HiLens-Lab,
        # HiLens_framework/python/hilens_wrap.cxx: _wrap_ModelWrapper_InferWrapper calls InferWrapper with no
        # SWIG_PYTHON_THREAD_BEGIN_ALLOW), so no other Python thread could run while the NPU works
        pipeline=(("loop", ("feedback", "infer", "composite")),)),
    App(ACL_APP, "the AscendCL app", "app", "acl", frozenset({"preview"}),
        "the app on a laptop with `edgematte run <this folder> --input clip.mp4 --output out.mp4` (add "
        "`--preview 8080` to watch it in a browser)",
        _render_acl_app, _write_acl_app, _acl_app_problems, _run_acl_app, benched=False, board_note=_acl_app_needs,
        # three threads; the NPU's and DVPP's work is waited for by polling an event between sleeps (StreamWait),
        # so the threads overlap whether or not pyACL releases Python's lock in its calls (its source, not checked)
        pipeline=(("capture", ("decode", "jpegd", "convert")), ("npu", ("upload", "vpc", "feedback", "infer")),
                  ("output", ("composite", "preview", "jpege")))),
)}


def app_of(family: DeviceFamily) -> App:
    return APPS[family.app]


def bundle_app(bundle) -> App | None:
    """The app of ``bundle``'s device family (its manifest's ``device``), or None for a bundle with no family; a
    family this edgematte does not know is a one-line error."""
    device = bundle.manifest.device
    if device is None:
        return None
    if device not in DEVICES:
        raise BundleError(f"{bundle.folder}: device {device!r} is not a device family this edgematte knows "
                          f"({', '.join(DEVICES)}); re-export the bundle")
    return app_of(DEVICES[device])
