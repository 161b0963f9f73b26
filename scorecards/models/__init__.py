"""Health: materialised scores, thresholds, lights and alerts (``health``), balanced-scorecard
KPIs (``kpis``) and health reviews (``reviews``)."""

from .digests import *  # noqa: F403
from .health import *  # noqa: F403
from .kpis import *  # noqa: F403
from .reviews import *  # noqa: F403
