"""Performance: timing statistics, model cost, the original-style baseline, INT8 quantization, and ``bench``."""
