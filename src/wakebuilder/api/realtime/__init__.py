"""Real-time detection over WebSocket (``WS /api/test/ws/{model_id}``).

- :mod:`.protocol`: parsing client messages and building server messages (the wire format);
- :mod:`.stream`: one connection's audio path (PCM16 -> resampled 16 kHz -> shared detector);
- :mod:`.pool`: the process-wide inference pool (bounded threads, shared models, limits);
- :mod:`.session`: one connection's lifecycle, bounded queue and rate-limited scores.
"""
