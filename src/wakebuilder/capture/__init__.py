"""Learning from use: audio captured during live tests (detections, near misses, "I said it
and it missed"), stored per model with a label the user gives it.

- :mod:`.ring`: the bounded ring buffer of a stream's recent 16 kHz audio.
- :mod:`.store`: :class:`CaptureStore`, clips (WAV + JSON) under ``captures/<model_id>/``,
  bounded in count and bytes per model.
- :mod:`.recorder`: :class:`StreamRecorder`, what one stream decides to keep.
"""
