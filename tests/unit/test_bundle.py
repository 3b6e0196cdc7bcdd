"""Bundle: the one reader of manifest.json, and path(role) the one place a role becomes a path."""

import re
import shutil

import pytest
from bundletools import edit_manifest

from edgematte.bundle import FORMAT, LAYOUT, Bundle, Manifest
from edgematte.errors import BundleError, EdgematteError


@pytest.fixture
def copy(exported_bundle, tmp_path):
    folder = tmp_path / "copy"
    shutil.copytree(exported_bundle.out, folder)
    return folder


def test_open_gives_the_typed_manifest_and_paths_by_role(copy, tiny_spec):
    bundle = Bundle.open(copy)
    assert bundle.spec == tiny_spec and bundle.manifest.format == FORMAT and bundle.manifest.passed
    assert bundle.path("onnx") == copy / LAYOUT["onnx"] and bundle.has("golden") and not bundle.has("skill")
    assert Manifest.from_dict(bundle.manifest.to_dict()) == bundle.manifest  # the round trip is lossless
    with pytest.raises(BundleError, match=r"has no skill, aipp \(exported with --to onnx\); run needs it"):
        bundle.require("onnx", "skill", "aipp", why="run needs it")


@pytest.mark.parametrize("rel", ["/etc/passwd", "../outside.onnx", "a/../../outside.onnx", ""])
def test_a_manifest_path_outside_the_bundle_is_refused(copy, rel):
    edit_manifest(copy, lambda m: m["artifacts"].update(onnx=rel))
    with pytest.raises(BundleError, match="outside the bundle"):
        Bundle.open(copy).path("onnx")


def test_a_link_out_of_the_bundle_is_refused(copy, tmp_path):
    (tmp_path / "elsewhere.onnx").write_bytes((copy / LAYOUT["onnx"]).read_bytes())
    (copy / LAYOUT["onnx"]).unlink()
    (copy / LAYOUT["onnx"]).symlink_to(tmp_path / "elsewhere.onnx")
    with pytest.raises(BundleError, match="leads outside the bundle"):
        Bundle.open(copy).path("onnx")


@pytest.mark.parametrize("change, fragment", [
    (lambda m: m.update(format=99), "has manifest format 99, this edgematte reads 2"),
    (lambda m: m["artifacts"].update(plugin="run_me.py"), "lists artifacts this edgematte does not know (plugin)"),
    (lambda m: m.update(files=[]), "'files' is not a JSON object"),
    (lambda m: m["spec"].update(colour="pink"), "the spec has fields this edgematte does not know: colour"),
])
def test_a_manifest_this_edgematte_cannot_read_is_named(copy, change, fragment):
    edit_manifest(copy, change)
    with pytest.raises(EdgematteError, match=re.escape(fragment)):
        Bundle.open(copy)
