"""Imports every domain's models so ``Base.metadata`` holds all 55 tables (Alembic, tests, CLI)."""

from spikeland.agents import models as agents
from spikeland.analytics import models as analytics
from spikeland.apps import models as apps
from spikeland.audio import models as audio
from spikeland.billing import models as billing
from spikeland.boxes import models as boxes
from spikeland.db.base import Base
from spikeland.gallery import models as gallery
from spikeland.generation import models as generation
from spikeland.growth import models as growth
from spikeland.identity import models as identity
from spikeland.images import models as images
from spikeland.merch import models as merch
from spikeland.ops import models as ops
from spikeland.tokens import models as tokens

DOMAIN_MODULES = (
    identity,
    tokens,
    billing,
    growth,
    images,
    gallery,
    generation,
    apps,
    boxes,
    analytics,
    audio,
    merch,
    agents,
    ops,
)
metadata = Base.metadata
