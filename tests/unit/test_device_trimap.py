"""The device's trimap from MODNet's alpha: thresholds, the band's width, and code the Kit's Python can run."""

import ast
import inspect

import numpy as np

from edgematte import device_trimap
from edgematte.device_trimap import BAND, trimap_from_alpha


def test_thresholds_and_band():
    alpha = np.zeros((64, 64), np.float32)
    alpha[:, 32:] = 1.0
    alpha[:, 30:32] = 0.5  # a soft edge
    trimap = trimap_from_alpha(alpha)
    row = trimap[10]
    half = BAND // 2
    assert np.all(row[:30 - half] == 0.0) and np.all(row[32 + half:] == 1.0)
    assert np.all(row[30 - half:32 + half] == 0.5)  # the soft edge and `band // 2` pixels either side


def test_uncertain_everywhere_in_between():
    alpha = np.full((32, 32), 0.5, np.float32)
    assert np.all(trimap_from_alpha(alpha) == 0.5)
    assert np.all(trimap_from_alpha(np.ones((32, 32), np.float32)) == 1.0)  # a picture edge is not an edge


def test_source_is_self_contained_for_the_board():
    tree = ast.parse(inspect.getsource(device_trimap), feature_version=(3, 7))
    imports = {a.name for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))
               for a in node.names}
    assert imports == {"cv2", "numpy"}
