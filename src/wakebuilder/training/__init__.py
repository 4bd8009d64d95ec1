"""Training: configuration, the head network, the loop, calibration and the pipeline."""
