"""Audio augmentation: one transform per module, a background bank and default chains.

Every transform takes mono float32 16 kHz samples and an ``np.random.Generator``.
"""

from wakebuilder.augment.background_noise import AddBackground
from wakebuilder.augment.bank import BackgroundBank
from wakebuilder.augment.chain import (
    AugmentChain,
    default_negative_chain,
    default_positive_chain,
    place_in_window,
)
from wakebuilder.augment.codec import Codec
from wakebuilder.augment.filters import MicResponse
from wakebuilder.augment.gain import GainDb
from wakebuilder.augment.music import generate_music
from wakebuilder.augment.noise import NOISE_KINDS, generate_noise
from wakebuilder.augment.pitch import PitchShift
from wakebuilder.augment.reverb import Reverb
from wakebuilder.augment.speed import SpeedPerturb
from wakebuilder.augment.time_mask import TimeMask
from wakebuilder.augment.transform import Transform
from wakebuilder.augment.vocal_tract import VocalTractWarp

__all__ = [
    "NOISE_KINDS",
    "AddBackground",
    "AugmentChain",
    "BackgroundBank",
    "Codec",
    "GainDb",
    "MicResponse",
    "PitchShift",
    "Reverb",
    "SpeedPerturb",
    "TimeMask",
    "Transform",
    "VocalTractWarp",
    "default_negative_chain",
    "default_positive_chain",
    "generate_music",
    "generate_noise",
    "place_in_window",
]
