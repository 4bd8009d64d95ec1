"""Audio formats, decoding and recording checks."""
