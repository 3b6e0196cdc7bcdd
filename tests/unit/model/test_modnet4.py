import torch

from reference_modnet import RefMODNet

from edgematte.model.modnet4 import IMAGE_INPUT_SLOTS, MODNet4


def test_state_dict_keys_are_the_official_ones():
    ours = MODNet4(in_channels=3).state_dict()
    official = RefMODNet().state_dict()
    assert list(ours) == list(official)
    assert len(ours) == 751
    assert {k: v.shape for k, v in ours.items()} == {k: v.shape for k, v in official.items()}
    # the backbone is registered twice, as upstream does
    assert sum(k.startswith("lr_branch.backbone.") for k in ours) == 312


def test_parameter_count_matches_upstream():
    assert sum(p.numel() for p in MODNet4(in_channels=3).parameters()) == 6_487_075


def test_four_channel_model_widens_exactly_the_image_slots():
    three, four = MODNet4(in_channels=3).state_dict(), MODNet4().state_dict()
    widened = {k for k in three if three[k].shape != four[k].shape}
    assert widened == set(IMAGE_INPUT_SLOTS)
    for k in widened:
        assert four[k].shape[1] == three[k].shape[1] + 1


def test_deployment_and_training_forms_share_parameters_and_the_matte():
    torch.manual_seed(0)
    m = MODNet4().eval()
    image, prev = torch.rand(1, 3, 64, 96) * 2 - 1, torch.rand(1, 1, 64, 96)
    with torch.no_grad():
        alpha = m(image, prev)
        semantic, detail, matte = m.forward_train(image, prev)
    assert alpha.shape == detail.shape == (1, 1, 64, 96)
    assert semantic.shape == (1, 1, 4, 6)
    assert torch.equal(alpha, matte)
    assert 0 <= alpha.min() and alpha.max() <= 1


def test_prev_alpha_changes_the_output():
    torch.manual_seed(0)
    m = MODNet4().eval()
    image = torch.rand(1, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        d = (m(image, torch.zeros(1, 1, 64, 64)) - m(image, torch.ones(1, 1, 64, 64))).abs().max()
    assert d > 1e-4


def test_default_init_feedback_is_a_contraction():
    """The verification rollout relies on it: rounding differences must shrink from frame to frame."""
    torch.manual_seed(0)
    m = MODNet4().eval()
    image = torch.rand(1, 3, 128, 128) * 2 - 1
    with torch.no_grad():
        a = m(image, torch.zeros(1, 1, 128, 128))
        delta = torch.randn_like(a) * 1e-3
        gain = (m(image, a + delta) - m(image, a)).abs().max() / delta.abs().max()
    assert gain < 1
