"""A Wyoming wake-word server (Home Assistant's voice protocol) over the model store.

- :mod:`.protocol`: bounded event reading (malformed input becomes an error, not a hang-up);
- :mod:`.info`: the ``describe`` answer built from the model store;
- :mod:`.service`: what every connection shares (models, front end, inference threads);
- :mod:`.handler`: one :class:`~wyoming.server.AsyncEventHandler` per connection;
- :mod:`.server`: start, run and stop the server (optionally announced over zeroconf).
"""
