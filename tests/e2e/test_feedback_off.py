"""A model trained on zero previous alphas only (``train --recipe a-plain``) is fed zeros by both apps: its checkpoint
says so, the export writes it into each app's settings block, and ``verify`` holds the block to the manifest."""

import pytest

from bundletools import reseal
from clitools import run
from edgematte import api
from edgematte.apps import app_of
from edgematte.bundle import Bundle
from edgematte.devices import DEVICES
from edgematte.model.modnet_checkpoint import default_model, load_checkpoint, save_checkpoint
from edgematte.templates import read_settings


@pytest.fixture(scope="module")
def plain_ckpt(tmp_path_factory):
    path = tmp_path_factory.mktemp("plain") / "plain.ckpt"
    save_checkpoint(default_model(0).model, path, feedback=False)
    return path


def test_the_checkpoint_records_that_it_takes_zeros(plain_ckpt, tmp_path):
    assert load_checkpoint(plain_ckpt).meta.feedback is False
    save_checkpoint(default_model(0).model, tmp_path / "fed.ckpt")
    assert load_checkpoint(tmp_path / "fed.ckpt").meta.feedback is True


@pytest.mark.parametrize("family", ["hilens-kit", "ascend310b4"])
def test_both_apps_feed_zeros_and_verify_holds_them_to_it(family, plain_ckpt, tmp_path):
    out = api.export(to="om", device=family, checkpoint=plain_ckpt, size="64x64", out=tmp_path / family).out
    app = out / Bundle.open(out).manifest.artifacts[app_of(DEVICES[family]).role]
    assert read_settings(app.read_text())["FEEDBACK"] is False
    assert run("verify", out).exit_code == 0
    app.write_text(app.read_text().replace("FEEDBACK = False", "FEEDBACK = True", 1))
    reseal(out)
    r = run("verify", out)
    assert r.exit_code == 1 and "FEEDBACK is True, the manifest says False; re-export the bundle" in r.stdout
