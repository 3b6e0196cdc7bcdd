"""M-Net's flip-aware check: the reference's winners follow PyTorch's pooling, near-ties are those rounding can
decide either way (and exact post-ReLU ties are not), and a flip's reach bounds what it moves in a real M-Net."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from edgematte.model.mnet import POOLS, MNet
from edgematte.verification import near_ties


def _z(*windows):
    """(1, C=1, 2, 2·n) pre-ReLU values from n windows given in row-major order."""
    return np.concatenate([np.array(w, np.float64).reshape(2, 2) for w in windows], axis=1)[None, None]


def test_winners_are_pytorchs_pooling_indices():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(1, 6, 8, 10))
    z[:, :3] = np.round(z[:, :3])  # many exact ties, among zeros and among equal positive values
    _, indices = F.max_pool2d(torch.from_numpy(np.maximum(z, 0)), 2, 2, return_indices=True)
    rows, cols = indices.numpy()[0] // 10, indices.numpy()[0] % 10
    phase = (rows % 2) * 2 + cols % 2
    assert np.array_equal(near_ties.winners(z), phase)


@pytest.mark.parametrize("window, eps, tied", [
    ([-1.0, -2.0, -0.5, -3.0], 0.1, False),    # all post-ReLU zero, clearly negative: the first wins everywhere
    ([-1.0, -0.05, -0.5, -3.0], 0.1, True),    # one value within rounding of 0: a reader may make it positive
    ([0.5, 0.5 + 1e-9, 0.1, 0.0], 1e-6, True),  # two positives within rounding
    ([0.5, 0.6, 0.1, 0.0], 1e-6, False),       # a clear winner
    ([0.7, 0.3, 0.7, 0.0], 0.0, False),        # an exact tie of equal values, no noise: the first wins
    ([0.7, 0.3, 0.7, 0.0], 1e-6, True),        # the same with noise: the third may round above the first
])
def test_near_tied_windows(window, eps, tied):
    assert bool(near_ties.near_tied(_z(window), eps)[0, 0, 0]) is tied


def _flip_one(model, stage, image, trimap, channel, row, col):
    """The alpha with every unpooling by PyTorch's indices, and with stage ``stage``'s window (row, col) of
    ``channel`` given to another position of the window."""
    unpool = getattr(model, f"up_pool_{stage}")
    plain = model.raw_alpha(image, trimap)

    def moved(x, indices, output_size):
        indices = indices.clone()
        width = output_size[-1]
        i = int(indices[0, channel, row, col])
        r, c = divmod(i, width)
        indices[0, channel, row, col] = (r ^ 1) * width + (c ^ 1)  # the diagonal neighbour in the window
        return F.max_unpool2d(x, indices, 2, 2, output_size=output_size)

    unpool.forward = moved
    try:
        flipped = model.raw_alpha(image, trimap)
    finally:
        del unpool.forward
    return plain, flipped


@pytest.mark.parametrize("stage", range(1, POOLS + 1))
def test_a_flip_moves_the_alpha_only_within_its_reach(stage):
    torch.manual_seed(stage)
    model = MNet(0.25).eval()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.bias.uniform_(0.2, 0.5)  # live channels: the moved value reaches as far as it can
        image, trimap = torch.rand(1, 3, 128, 160) * 2 - 1, torch.full((1, 1, 128, 160), 0.5)
        size = (128 >> stage, 160 >> stage)
        where = (size[0] // 2, size[1] // 3)
        plain, flipped = _flip_one(model, stage, image, trimap, 1, *where)
    changed = (plain != flipped)[0, 0].numpy()
    windows = [np.zeros((2, 128 >> s, 160 >> s), bool) for s in range(1, POOLS + 1)]
    windows[stage - 1][1, where[0], where[1]] = True
    radii = np.array([getattr(model, f"deconv_{s}")[0].padding[0] for s in range(1, POOLS + 1)]
                     + [model.conv_0.padding[0]])
    reach = near_ties.reach(windows, radii, np.ones((128, 160), bool))
    assert changed.any() and not (changed & ~reach).any()
    assert changed.sum() > 0.3 * reach.sum()  # the bound is not loose by orders of magnitude


def test_a_winner_decided_otherwise_is_a_flip_only_at_a_near_tie():
    shape = (2, 4, 4)
    arrays = {near_ties.RADII: np.array([2, 2], np.int64),
              near_ties.winner_key("c", 1): np.zeros(shape, np.uint8),
              near_ties.near_tie_key("c", 1): np.zeros(shape, bool)}
    arrays[near_ties.near_tie_key("c", 1)][0, 1, 1] = True
    flip = np.zeros(shape, np.uint8)
    flip[0, 1, 1] = 3
    verdict = near_ties.judge([flip], arrays, "c", np.ones((8, 8), bool))
    assert (verdict.flips, verdict.wrong) == (1, 0) and verdict.reach.sum() == 8 * 8  # 2x2 window, radii 2 + 2
    wrong = flip.copy()
    wrong[1, 0, 0] = 1
    assert near_ties.judge([wrong], arrays, "c", np.ones((8, 8), bool)).wrong == 1
