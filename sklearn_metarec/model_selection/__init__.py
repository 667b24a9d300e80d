"""Cold-start cross-validation splitters and the published protocols.

:class:`ColdStartSplit` holds out users, items or both; :class:`LeaveLastKOut` holds
out each user's latest interactions; :class:`MeLUSplit`, :class:`TaNPSplit` and
:class:`MAMOSplit` reproduce the evaluation protocols of those papers and return
their scenarios as :class:`Scenario` objects.

Every row is assigned on its own, duplicate (user, item) rows included (they are
repeated observations); ids of any hashable type are accepted. Data a protocol
cannot split (too few users, no timestamp column, missing timestamps...) raises a
``ValueError`` that says why.
"""

from ._base import Scenario
from ._cold_start import ColdStartSplit, LeaveLastKOut
from ._protocols import MAMOSplit, MeLUSplit, TaNPSplit

__all__ = [
    "ColdStartSplit",
    "LeaveLastKOut",
    "MeLUSplit",
    "TaNPSplit",
    "MAMOSplit",
    "Scenario",
]
