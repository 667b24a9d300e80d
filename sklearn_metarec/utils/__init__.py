"""Utilities shared across the package: the data contract and sklearn glue."""

from ._data import (
    IdIndex,
    Interactions,
    check_ids,
    check_interactions,
    check_target,
    check_text_columns,
    split_multi_valued,
    split_side_information,
)

__all__ = [
    "IdIndex",
    "Interactions",
    "check_ids",
    "check_interactions",
    "check_target",
    "check_text_columns",
    "split_multi_valued",
    "split_side_information",
]
