"""One router per section of the API reference."""
