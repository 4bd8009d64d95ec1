"""The training pipeline, the top training layer: a job as short named steps over the pure
:mod:`wakebuilder.training` package, the negative store and the model store.

:mod:`request` (what is asked), :mod:`state` (what the steps share), :mod:`recordings`,
:mod:`speech`, :mod:`dataset` (negative store, windows, validation from held-out material),
:mod:`fit` (heads, mining, fine-tuning), :mod:`calibrate` (threshold, held-out FA/h, FRR),
:mod:`publish` (export to the model store), :mod:`run` (:func:`run.run_training`).
"""
