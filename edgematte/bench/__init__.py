"""``edgematte bench``: timing statistics, model cost, MODNet's original-style baseline, the FP16 estimate,
the skill's loop on the stand-in, the report, its schema and its plot."""
