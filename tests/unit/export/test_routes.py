"""The route table drives the CLI's choices, the API's checks and what each bundle holds."""

import pytest

from edgematte.bundle import Bundle
from edgematte.devices import DEVICES, HILENS_SKILL
from edgematte.errors import SpecError
from edgematte.export.routes import DEFAULT_TARGET, ROUTES, TARGETS, VIAS, find_route


def test_find_route_reads_the_table():
    assert find_route(DEFAULT_TARGET).default
    assert (find_route("om").via, find_route("om").default_family.name) == ("caffe", "hilens-kit")
    assert find_route("om", "onnx").default_family.soc_version == "Ascend310"
    assert find_route("onnx").via is None and find_route("onnx").default_family is None
    with pytest.raises(SpecError, match="applies to --to om only, not 'onnx'"):
        find_route("onnx", "onnx")
    with pytest.raises(SpecError, match="did you mean om"):
        find_route("omm")
    with pytest.raises(SpecError, match="use one of caffe, onnx"):
        find_route("om", "tensorrt")


def test_device_selects_the_family_and_its_route():
    route = find_route("om", None, "ascend310b4")
    assert (route.via, route.family("ascend310b4").soc_version) == ("onnx", "Ascend310B4")
    assert find_route("om", None, "hilens-kit").family("hilens-kit").compiler.name == "omg"
    assert find_route("om").family() is DEVICES["hilens-kit"]  # the Kit stays the default
    with pytest.raises(SpecError, match=r"--device ascend310b4 \(Atlas 200I DK A2, Orange Pi AIpro 8T\) compiles "
                                        r"with atc from ONNX: use --to om --via onnx, not --to om --via caffe"):
        find_route("om", "caffe", "ascend310b4").family("ascend310b4")
    with pytest.raises(SpecError, match="use --to om --via caffe"):
        find_route("om", "onnx", "hilens-kit").family("hilens-kit")
    with pytest.raises(SpecError, match="--device applies to --to om only, not --to onnx"):
        find_route("onnx", None, "ascend310p3").family("ascend310p3")
    with pytest.raises(SpecError, match="did you mean ascend310b4"):
        find_route("om", None, "ascend310b5").family("ascend310b5")


def test_the_docs_device_table_is_the_records():
    from pathlib import Path

    from edgematte.devices import devices_table

    assert devices_table() in (Path(__file__).parents[3] / "docs" / "ascend-boards.md").read_text()


@pytest.mark.parametrize("device", [d for d in DEVICES if DEVICES[d].compiler.name == "atc"])
def test_every_cann_family_exports_its_soc_version_and_nv21_aipp_and_its_app_runs(device, tiny_spec, sample_clip,
                                                                                   tmp_path_factory):
    from edgematte import api
    from edgematte.aipp import YUV420SP, parse_aipp
    from edgematte.acl_app import app_problems
    from edgematte.atc_onnx import atc_problems

    import onnx

    family = DEVICES[device]
    result = api.export(to="om", device=device, size=f"{tiny_spec.width}x{tiny_spec.height}",
                        out=tmp_path_factory.mktemp("family") / device)
    bundle = Bundle.open(result.out)
    assert bundle.manifest.device == device and result.manifest.passed
    assert f"--soc_version={family.soc_version}" in bundle.path("convert_script").read_text()
    (aipp,) = parse_aipp(bundle.path("aipp").read_text())
    # the app's NV21 frames (DVPP's VPC scales them onto the input): V before U, so AIPP swaps them back
    assert (aipp.input_format, aipp.rbuv_swap_switch, aipp.csc_switch) == (YUV420SP, True, True)
    assert app_problems(bundle.path("app").read_text(), family) == []
    proto = onnx.load(str(bundle.path("onnx")))
    assert atc_problems(proto, bundle.spec, family) == []
    assert bundle.manifest.atc_onnx == {"resize_half_pixel_to_pytorch_half_pixel": 8, "resize_not_rewritten": [],
                                        "max_abs_change": 0.0}
    ran = api.run(result.out, input=str(sample_clip), output=result.out.parent / "out.mp4", max_frames=3,
                  mode="side-by-side")
    assert (ran.frames, ran.width, ran.height, ran.stopped) == (3, 2560, 720, None)


def test_every_route_names_known_device_families_and_the_cli_offers_the_tables_choices():
    from edgematte.cli import export

    for route in ROUTES:
        assert set(route.devices) <= set(DEVICES)
    params = {p.name: p for p in export.params}
    assert list(params["to"].type.choices) == list(TARGETS) and list(params["via"].type.choices) == list(VIAS)


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name)
def test_each_bundle_holds_what_its_route_record_says(route, route_bundles):
    bundle = Bundle.open(route_bundles[route.name].out)
    m = bundle.manifest
    assert (m.target, m.via, m.device) == (route.to, route.via, route.default_family.name if route.default_family else None)
    want = {"golden"} | ({"onnx"} if route.onnx else set()) | ({"prototxt", "caffemodel"} if route.caffe else set())
    if route.default_family:
        want |= {"aipp", "convert_script", "readme"} | (
            {"skill", "skill_config", "skill_config_items"} if route.default_family.app == HILENS_SKILL else {"app"})
        assert m.convert["tool"] == route.default_family.compiler.name
    assert set(m.artifacts) == want
    assert {c["reader"] for c in m.verification["checks"]} == (
        ({"onnxruntime"} if route.onnx else set()) | ({"caffe-numpy", "opencv-dnn"} if route.caffe else set()))
    assert bundle.file_problems() == []
