"""Pure torch modules: item and user encoders, the decision head, the network.

Nothing here imports scikit-learn or skorch. Every module takes plain sizes and an
explicit ``torch.Generator`` for its initial weights.
"""

from ._encoders import ItemEncoder, UserEncoder
from ._head import DecisionHead
from ._net import MetaRecNet

__all__ = ["DecisionHead", "ItemEncoder", "MetaRecNet", "UserEncoder"]
