"""Fine-tuning the 4-channel model: datasets, trimaps, augmentations, MODNet's losses, the training loop."""
