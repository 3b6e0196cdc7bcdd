"""INT8 for the CPU stand-in: static quantization calibrated on sample-clip frames, a mixed-precision plan
that meets an alpha-error budget, and the error probes that measure it. Part of export (``--int8``);
``edgematte bench`` times what it makes."""
