"""The training shell: skorch nets whose train step is a meta-learning episode."""

from ._episode import EpisodeCollate, EpisodeNet

__all__ = ["EpisodeCollate", "EpisodeNet"]
