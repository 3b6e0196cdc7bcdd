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
    proto = onnx.load(str(path))
    problems = graph_io_problems(proto, bundle.spec)
    family = _family(bundle)
    if not problems and role == "onnx" and family is not None:
        problems = family.compiler.onnx_problems(proto, bundle.spec, family)
    return [f"{path.name}: {p}" for p in problems]


def graph_io_problems(proto, spec) -> list[str]:
    """Whether the graph's inputs and outputs are the ones ``spec``'s network has (names and static shapes): a
    file swapped for another network's fails here, by name."""
    def shapes(values):
        return {v.name: tuple(d.dim_value for d in v.type.tensor_type.shape.dim) for v in values}

    weights = {i.name for i in proto.graph.initializer}
    inputs = {k: v for k, v in shapes(proto.graph.input).items() if k not in weights}
    outputs = shapes(proto.graph.output)
    if inputs == dict(spec.input_shapes) and outputs == dict(spec.output_shapes):
        return []
    return [f"its inputs {inputs} and outputs {outputs} are not the {spec.network.short} graph the manifest describes "
            f"(inputs {dict(spec.input_shapes)}, output {dict(spec.output_shapes)}); re-export the bundle"]


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
    if bundle.spec.network.frame_network:
        if not bundle.has(app.role):
            problems.append(f"{MANIFEST}: the {family.name} family runs {app.title} ({app.role}), which the bundle "
                            f"does not list; re-export the bundle")
        else:
            problems += _app_settings_problems(bundle, app)
    return problems


def _app_settings_problems(bundle, app) -> list[str]:
    """The app's settings block against the manifest: the model it loads, its size, and the refiner it loads
    (a manifest whose refiner record was removed while the app still loads ``refiner/`` fails here)."""
    from edgematte.bundle import fed_back, file_name, refiner_file
    from edgematte.templates import read_settings

    path = bundle.path(app.role)
    try:
        settings = read_settings(path.read_text())
    except (ValueError, SyntaxError, UnicodeDecodeError) as e:
        return [f"{path.name}: its settings block cannot be read ({e}); re-export the bundle"]
    refiner = bundle.refiner
    want = {"MODEL_FILE": file_name("om"), "NET_W, NET_H": (bundle.spec.width, bundle.spec.height),
            "FEEDBACK": fed_back(bundle.manifest.weights),
            "REFINER_FILE": refiner_file("om", refiner.spec.model) if refiner is not None else None}
    if refiner is not None:
        want["REF_W, REF_H"] = (refiner.spec.width, refiner.spec.height)
    return [f"{bundle.manifest.artifacts[app.role]}: {name} is {settings.get(name)!r}, the manifest says {value!r}; "
            f"re-export the bundle" for name, value in want.items() if settings.get(name) != value]


def _prototxt(bundle) -> list[str]:
    from edgematte.runtime.caffe_files import CaffeFileError, parse_prototxt

    path = bundle.path("prototxt")
    try:
        parse_prototxt(path.read_text())
    except (CaffeFileError, UnicodeDecodeError) as e:
        return [f"{path.name}: {e}"]
    return []
