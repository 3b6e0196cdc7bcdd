"""Every metric reproduces metrics_reference.json (values from the DIM MATLAB / RVM / TCVOM reference code,
copied from shared/data) within its stated tolerance, including the region rules and dtSSD's frame-0
convention."""

import json
from pathlib import Path

import numpy as np
import pytest

from edgematte import metrics

REFERENCE = Path(__file__).parents[1] / "data" / "metrics_reference.json"


@pytest.fixture(scope="module")
def ref():
    return json.loads(REFERENCE.read_text())


def close(got, want, ref):
    tol = ref["tolerance"]
    assert got == pytest.approx(want, rel=tol["relative"], abs=tol["absolute"])


def alphas(case):
    return (np.asarray(case["pred_u8"], np.float64) / 255, np.asarray(case["gt_u8"], np.float64) / 255,
            np.asarray(case["trimap_u8"]))


def test_dog_kernel(ref):
    want = np.asarray(ref["dog_kernel_x_sigma1.4"]["values"])
    assert np.abs(metrics.dog_kernel() - want).max() < 1e-9


@pytest.mark.parametrize("name", ["c1_4x4_whole", "c2_8x8_band", "c3_8x8_washed_island"])
def test_image_metrics_whole_frame_and_unknown_band(ref, name):
    case = ref["cases"][name]
    p, g, trimap = alphas(case)
    whole = case["expected"]["whole_image"]
    close(metrics.sad(p, g), whole["SAD_raw"], ref)
    close(metrics.mse(p, g), whole["MSE"], ref)
    close(metrics.mad(p, g), whole["MAD"], ref)
    close(metrics.grad(p, g), whole["Grad_raw_minmax_dim_octave"], ref)
    close(metrics.grad(p, g, normalize=False), whole["Grad_raw_nonorm"], ref)
    close(metrics.conn(p, g), whole["Conn_raw_dim_octave"], ref)
    unknown = case["expected"]["unknown_region_dim_protocol"]
    band = trimap == 128
    assert int(band.sum()) == unknown["n_unknown"]
    close(metrics.sad(p, g, band), unknown["SAD_raw"], ref)
    close(metrics.mse(p, g, band), unknown["MSE_dim_octave"], ref)
    close(metrics.grad(p, g, band), unknown["Grad_raw_dim_octave"], ref)
    close(metrics.conn(p, g, band), unknown["Conn_raw_dim_octave"], ref)
    tri = metrics.trimap_protocol(p, g, trimap)
    close(tri["SAD"], unknown["SAD_raw"] / 1e3, ref)
    vid = metrics.video_protocol(p, g)
    close(vid["MAD"], whole["MAD_x1e3_rvm"], ref)
    close(vid["MSE"], whole["MSE_x1e3_rvm"], ref)


def test_dtssd_rvm_convention_frame0_is_zero_and_counted(ref):
    v = ref["video_t1"]
    preds = np.asarray(v["pred_u8"], np.float64) / 255
    gts = np.asarray(v["gt_u8"], np.float64) / 255
    per_frame = metrics.dtssd_frames(preds, gts)
    want = v["expected"]["rvm_dtssd_x1e2_per_frame"]
    for got, w in zip(per_frame, want):
        close(got, w, ref)
    close(float(np.mean(per_frame)), v["expected"]["rvm_dtssd_x1e2_clip_mean_incl_frame0_zero"], ref)


@pytest.mark.parametrize("region", ["unknown_mask", "whole_image"])
def test_tcvom_dtssd_and_messddt_with_flow(ref, region):
    v = ref["video_t1"]
    preds = np.asarray(v["pred_u8"], np.float64) / 255
    gts = np.asarray(v["gt_u8"], np.float64) / 255
    t, h, w = preds.shape
    flow = np.zeros((h, w, 2))
    flow[..., 0] = v["flow_t_to_tp1"]["dx"]
    flow[:, -1] = np.nan  # the last column has no valid flow
    masks = np.asarray(v["trimap_u8"]) == 128 if region == "unknown_mask" else None
    got = metrics.tcvom_frames(preds, gts, masks, [flow] * t)
    for g, w_ in zip(got, v["expected"][f"tcvom_{region}_per_frame"]):
        close(g["dtSSD"], w_["dtSSD"], ref)
        close(g["MESSDdt"], w_["MESSDdt"], ref)


def test_size_mismatch_is_named():
    with pytest.raises(ValueError, match=r"prediction \(2, 2\) and ground truth \(3, 3\)"):
        metrics.mad(np.zeros((2, 2)), np.zeros((3, 3)))


def test_conn_thresholds_are_exact_decimals_on_8bit_alpha():
    """153/255 is exactly 0.6 and belongs to the region at threshold 0.6. Two blocks of 255 joined by a
    column of 153: at 0.6 they are one region, so the small block's level is 0.6 (with 6 * 0.1 =
    0.6000000000000001 as the threshold it would be 0.5). Where the prediction is 178 in the small block,
    phi(p) = 1 (178/255 - 0.6 < theta) and phi(g) = 1 - (1 - 0.6): 0.4 per pixel."""
    g = np.full((6, 13), 255.0)
    g[:, 8] = 153
    p = g.copy()
    p[:, 9:] = 178
    right = p[:, 9:].size
    assert metrics.conn(p / 255, g / 255) == pytest.approx(0.4 * right, rel=1e-9)
