"""edgematte: temporally stable portrait matting (MODNet + previous alpha) for Ascend 310 / HiLens Kit."""

__version__ = "0.1.0"
