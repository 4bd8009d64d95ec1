"""The one streaming detector, used by every consumer, and long-audio evaluation."""
