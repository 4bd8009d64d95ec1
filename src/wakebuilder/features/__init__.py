"""The openWakeWord feature front end and the negative feature store."""
