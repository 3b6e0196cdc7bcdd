"""What the device toolchains would refuse in a bundle's files, read the way they read them: the AIPP
config as protobuf text (repeated scalar fields, unknown fields and unclosed blocks are errors) with
the chip's rules, the ONNX through the ONNX checker with shape inference, the prototxt through our
text-format parser. ``verify`` runs this after the checksums, so an edited file fails by name."""

from __future__ import annotations


def device_file_problems(bundle) -> list[str]:
    """Problems in ``bundle``'s (an :class:`edgematte.bundle.Bundle`) device family record, AIPP config, ONNX
    models and prototxt."""
    problems = family_problems(bundle)
    if problems:
        return problems
    if bundle.has("aipp"):
        problems += _aipp(bundle)
    for role in ("onnx", "onnx_int8"):
        if bundle.has(role):
            problems += _onnx(bundle, role)
    if bundle.has("prototxt"):
        problems += _prototxt(bundle)
    return problems


def _aipp(bundle) -> list[str]:
    from edgematte.aipp import AippError, aipp_configs, aipp_problems, parse_aipp

    path = bundle.path("aipp")
    try:
        configs = parse_aipp(path.read_text())
    except (AippError, UnicodeDecodeError) as e:
        return [f"{path.name}: {e}"]
    problems = [f"{path.name}: {p}" for c in configs for p in aipp_problems(c, bundle.spec)]
    family = _family(bundle)
    if family is not None and any(c.input_format != family.input_format for c in configs
                                  if c.related_input_rank == 0):
        problems.append(f"{path.name}: input_format is not {family.input_format}, the frames the "
                        f"{family.title}'s app feeds")
    expected = [c.related_input_rank for c in aipp_configs(bundle.spec, family)]
    ranks = [c.related_input_rank for c in configs]
    if sorted(ranks) != expected:
        inputs = ", ".join(f"{r} ({bundle.spec.input_names[r]})" for r in expected)
        problems.append(f"{path.name}: expected aipp_op blocks for input {inputs}, found blocks for inputs {ranks}")
    return problems


def _onnx(bundle, role: str) -> list[str]:
    import onnx

    path = bundle.path(role)
    try:
        onnx.checker.check_model(str(path), full_check=True)
    except Exception as e:  # the checker raises ValidationError, InferenceError, or a protobuf DecodeError
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        return [f"{path.name}: the ONNX checker rejects it ({first})"]
    family = _family(bundle)
    if role == "onnx" and family is not None:
        return [f"{path.name}: {p}" for p in family.compiler.onnx_problems(onnx.load(str(path)), bundle.spec, family)]
    return []


def _family(bundle):
    from edgematte.devices import DEVICES

    return DEVICES.get(bundle.manifest.device or "")


def family_problems(bundle) -> list[str]:
    """Whether the manifest's device family is one this edgematte knows, and agrees with the bundle's own
    compiler command and app: verify must not skip a family's checks because its name was edited."""
    from edgematte.apps import app_of
    from edgematte.bundle import MANIFEST
    from edgematte.devices import DEVICES

    device = bundle.manifest.device
    if device is None:
        return []
    family = DEVICES.get(device) if isinstance(device, str) else None
    if family is None:
        return [f"{MANIFEST}: device {device!r} is not a device family this edgematte knows ({', '.join(DEVICES)}); "
                f"re-export the bundle"]
    problems = []
    tool = (bundle.manifest.convert or {}).get("tool")
    if tool != family.compiler.name:
        problems.append(f"{MANIFEST}: the {family.name} family compiles with {family.compiler}, but the bundle's "
                        f"compiler command is for {tool!r}; re-export the bundle")
    app = app_of(family)
    if bundle.spec.network.frame_network and not bundle.has(app.role):
        problems.append(f"{MANIFEST}: the {family.name} family runs {app.title} ({app.role}), which the bundle does "
                        f"not list; re-export the bundle")
    return problems


def _prototxt(bundle) -> list[str]:
    from edgematte.runtime.caffe_files import CaffeFileError, parse_prototxt

    path = bundle.path("prototxt")
    try:
        parse_prototxt(path.read_text())
    except (CaffeFileError, UnicodeDecodeError) as e:
        return [f"{path.name}: {e}"]
    return []
