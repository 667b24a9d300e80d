"""Cold-start cross-validation splitters and the published protocols.

:class:`ColdStartSplit` holds out users, items or both; :class:`LeaveLastKOut` holds
out each user's latest interactions; :class:`MeLUSplit`, :class:`TaNPSplit` and
:class:`MAMOSplit` reproduce the evaluation protocols of those papers and return
their scenarios as :class:`Scenario` objects.
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
