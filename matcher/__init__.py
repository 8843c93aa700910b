"""wushe: match residents' needs to the four 五社 actors, with reasons.

The engine library. ``Matcher`` is the estimator; ``load_dataset`` reads the
data contract (``shared/spec/data-format.md``).
"""

from .dataset import LoadReport, load_dataset
from .errors import (
    DataError,
    DatasetError,
    ModelError,
    ParameterError,
    RowError,
    UnknownNeedError,
    WusheError,
)
from .model import Matcher, Suggestion
from .persist import load_model, save_model
from .records import Actor, Community, Dataset, Feedback, Need

__all__ = [
    "Actor",
    "Community",
    "DataError",
    "Dataset",
    "DatasetError",
    "Feedback",
    "LoadReport",
    "Matcher",
    "ModelError",
    "Need",
    "ParameterError",
    "RowError",
    "Suggestion",
    "UnknownNeedError",
    "WusheError",
    "load_dataset",
    "load_model",
    "save_model",
]

__version__ = "0.1.0"
