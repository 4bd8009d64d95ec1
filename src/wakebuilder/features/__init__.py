"""The openWakeWord feature front end (mel spectrogram + speech embedding)."""
