import pickle

import pytest
import torch

from conftest import save_official
from reference_modnet import RefMODNet, randomize

from edgematte.errors import CheckpointError
from edgematte.model.modnet_checkpoint import inflate_state_dict, load_checkpoint, save_checkpoint
from edgematte.model.modnet4 import MODNet4


def _alpha_against_reference(loaded, reference, prevs):
    torch.manual_seed(1)
    image = torch.rand(1, 3, 64, 96) * 2 - 1
    with torch.no_grad():
        want = reference(image, inference=True)[2]
        return [(loaded.model(image, p) - want).abs().max().item() for p in prevs]


@pytest.mark.parametrize("prefix", ["module.", ""])
def test_official_checkpoint_inflates_exactly(tmp_path, reference3, prefix):
    path = save_official(reference3, tmp_path / "m.ckpt", prefix)
    loaded = load_checkpoint(path)
    assert loaded.inflated and loaded.source == "official-3ch" and loaded.model.in_channels == 4
    prevs = [torch.zeros(1, 1, 64, 96), torch.ones(1, 1, 64, 96), torch.rand(1, 1, 64, 96)]
    assert max(_alpha_against_reference(loaded, reference3, prevs)) <= 1e-5


def test_training_heads_inflate_exactly_too(official_ckpt, reference3):
    loaded = load_checkpoint(official_ckpt)
    image, prev = torch.rand(1, 3, 64, 64) * 2 - 1, torch.rand(1, 1, 64, 64)
    with torch.no_grad():
        ours, ref = loaded.model.forward_train(image, prev), reference3(image, inference=False)
    for a, b in zip(ours, ref):
        assert (a - b).abs().max() <= 1e-5


def test_a_file_with_one_backbone_alias_still_loads(tmp_path, reference3):
    state = {k: v for k, v in reference3.state_dict().items() if not k.startswith("lr_branch.backbone.")}
    torch.save(state, tmp_path / "dedup.ckpt")
    loaded = load_checkpoint(tmp_path / "dedup.ckpt")
    assert max(_alpha_against_reference(loaded, reference3, [torch.rand(1, 1, 64, 96)])) <= 1e-5


def test_inflation_puts_zeros_right_after_the_image_channels():
    w = torch.arange(2 * 35, dtype=torch.float32).reshape(2, 35, 1, 1)
    out = inflate_state_dict({"f_branch.conv_f.0.layers.0.weight": w})["f_branch.conv_f.0.layers.0.weight"]
    assert out.shape == (2, 36, 1, 1)
    assert torch.equal(out[:, :35], w) and torch.all(out[:, 35] == 0)  # cat(f, img): alpha goes last
    w = torch.ones(2, 35, 1, 1)
    out = inflate_state_dict({"hr_branch.conv_enc2x.layers.0.weight": w})["hr_branch.conv_enc2x.layers.0.weight"]
    assert torch.all(out[:, 3] == 0) and torch.all(out[:, :3] == 1) and torch.all(out[:, 4:] == 1)


def test_edgematte_checkpoint_round_trips_with_its_record(tmp_path):
    torch.manual_seed(5)
    model = MODNet4(align_corners=True).eval()
    path = save_checkpoint(model, tmp_path / "ours.ckpt", preset="hilens-384x384")
    loaded = load_checkpoint(path)
    assert loaded.source == "edgematte" and not loaded.inflated
    assert loaded.meta.align_corners is True and loaded.meta.preset == "hilens-384x384"
    assert loaded.model.align_corners is True
    x, a = torch.rand(1, 3, 64, 64), torch.rand(1, 1, 64, 64)
    with torch.no_grad():
        assert torch.equal(model(x, a), loaded.model(x, a))
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_checkpoints_load_without_unpickling_code(tmp_path):
    class Payload:
        def __reduce__(self):
            return (print, ("this must never run",))

    path = tmp_path / "evil.ckpt"
    torch.save({"x": Payload()}, path)
    with pytest.raises(CheckpointError, match=r"pickled Python objects besides tensors \(GLOBAL [\w.]*print\); "
                                              r"edgematte loads checkpoints weights-only, so that code was blocked"):
        load_checkpoint(path)


@pytest.mark.parametrize("make, message", [
    (lambda p: None, "checkpoint not found"),
    (lambda p: p.write_bytes(b"\x00garbage" * 100), "not a readable PyTorch checkpoint"),
    (lambda p: p.write_bytes(pickle.dumps({"weights": [1, 2, 3]})), "not a readable PyTorch checkpoint"),
    (lambda p: torch.save([torch.zeros(3)], p), "holds a list, not a state_dict"),
    (lambda p: torch.save(torch.nn.Linear(3, 4).state_dict(), p),
     r"not a MODNet checkpoint: 630 missing \(backbone.model.features.0.0.weight.*2 unexpected \(weight, bias\)"),
])
def test_bad_checkpoints_get_one_line_that_names_the_problem(tmp_path, make, message):
    path = tmp_path / "bad.ckpt"
    make(path)
    with pytest.raises(CheckpointError, match=message) as e:
        load_checkpoint(path)
    assert "\n" not in e.value.message


def test_a_truncated_checkpoint_is_reported_as_unreadable(tmp_path, official_ckpt):
    data = official_ckpt.read_bytes()
    (tmp_path / "cut.ckpt").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="cut.ckpt is not a readable PyTorch checkpoint"):
        load_checkpoint(tmp_path / "cut.ckpt")


def test_a_misshaped_modnet_is_reported_per_tensor(tmp_path):
    state = randomize(RefMODNet(), 0).state_dict()
    state["f_branch.conv_f.0.layers.0.weight"] = torch.zeros(16, 40, 3, 3)
    torch.save(state, tmp_path / "wide.ckpt")
    with pytest.raises(CheckpointError, match=r"1 mis-shaped \(f_branch.conv_f.0.layers.0.weight \(16, 40, 3, 3\) "
                                              r"!= \(16, 35, 3, 3\)\)"):
        load_checkpoint(tmp_path / "wide.ckpt")
