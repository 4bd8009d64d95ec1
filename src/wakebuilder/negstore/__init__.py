"""The negative store: embeddings of long negative audio (speech, music, noise, TTS), computed
once and shared by every training job, in four splits chosen by source.

Modules: :mod:`store` (the on-disk store), :mod:`index` (its ``index.json``), :mod:`embedding`
(audio to embedding streams), :mod:`kinds` (kinds of audio, the exclusion rule),
:mod:`splits` (which split each file belongs to), :mod:`generated` (the generated corpus),
:mod:`mixtures` (speech over music or effects, two voices at once, made from the corpus),
:mod:`build` (filling and describing the store), :mod:`source` (what a job samples from),
:mod:`paths` (where it lives).
"""
