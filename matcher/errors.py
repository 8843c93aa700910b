"""The small named error vocabulary of wushe.

Every error carries a Chinese and an English message, so the CLI and the
service can show the one their user reads. Data errors also carry the file,
the line and the column they were found at.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "DataError",
    "DatasetError",
    "ModelError",
    "ParameterError",
    "RowError",
    "UnknownNeedError",
    "WusheError",
]


class WusheError(Exception):
    """Base class of every error wushe raises on purpose.

    Parameters
    ----------
    zh : str
        The message in Chinese, for station staff.
    en : str
        The same message in English, for developers and logs.
    """

    code = "wushe_error"

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(f"{zh} / {en}")
        self.zh = zh
        self.en = en


@dataclass(frozen=True)
class RowError:
    """One problem found in one cell (or row) of a dataset file.

    ``line`` is the 1-based physical line in the file (the header is line 1);
    ``column`` is the column name, or ``""`` when the whole row or file is
    concerned.
    """

    file: str
    line: int
    column: str
    zh: str
    en: str

    def format(self) -> str:
        """Render as ``file:line: [column] 中文 / English``."""
        where = f"{self.file}:{self.line}" if self.line else self.file
        col = f" [{self.column}]" if self.column else ""
        return f"{where}:{col} {self.zh} / {self.en}"

    def as_dict(self) -> dict[str, object]:
        """Plain dict for JSON output."""
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "zh": self.zh,
            "en": self.en,
        }


class DataError(WusheError):
    """A dataset could not be read; ``errors`` lists every problem found."""

    code = "data_error"

    def __init__(self, errors: list[RowError]) -> None:
        self.errors = list(errors)
        n = len(self.errors)
        first = self.errors[0].format() if self.errors else ""
        super().__init__(
            f"数据有 {n} 处错误，未导入任何记录。第一处：{first}",
            f"the dataset has {n} error(s); nothing was imported. First: {first}",
        )


class DatasetError(WusheError):
    """A dataset folder is missing or unusable as a whole."""

    code = "dataset_error"


class ParameterError(WusheError, ValueError):
    """A parameter (weights file, solver name, k, ...) has an invalid value."""

    code = "parameter_error"


class ModelError(WusheError):
    """A model folder is missing, corrupt, or of another major version."""

    code = "model_error"


class UnknownNeedError(WusheError, KeyError):
    """A need id is not in the fitted dataset."""

    code = "unknown_need"

    def __str__(self) -> str:
        return f"{self.zh} / {self.en}"
