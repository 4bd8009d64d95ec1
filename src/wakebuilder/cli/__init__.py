"""The ``wakebuilder`` command line."""
