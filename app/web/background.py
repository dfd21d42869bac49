"""Work a request leaves for after its response has gone: a new nomination's screening against
the sanction registries, so the citizen's receipt never waits for it.

Best effort by design: if the process dies first, or the work fails, the nomination is left
unscreened, and /staff/sanctions counts it among the nominees to screen (the next list import,
`sanctions screen`, or the button there does it; announcing finalists refuses an unscreened one).
"""

import logging
import time
import weakref

from sqlalchemy import Engine
from sqlmodel import Session

from app.config import Settings
from app.db import WRITE
from app.models import Campaign, utcnow
from app.services.candidates.sanctions.screening import (
    has_entries,
    screen_nomination,
    screen_pending,
)

log = logging.getLogger("app.background")

# Whether any list is imported, remembered this long, so that a portal without lists (and the
# benchmark) spends nothing on screening.
LISTS_KNOWN_SECONDS = 30.0
# By engine (one per app), forgotten with it.
_lists: "weakref.WeakKeyDictionary[Engine, tuple[float, bool]]" = weakref.WeakKeyDictionary()


def _has_lists(engine: Engine) -> bool:
    now = time.monotonic()
    known = _lists.get(engine)
    if known is not None and known[0] > now:
        return known[1]
    with Session(engine) as session:
        found = has_entries(session)
    _lists[engine] = (now + LISTS_KNOWN_SECONDS, found)
    return found


def screen_new_nomination(engine: Engine, settings: Settings, nomination_id: int) -> None:
    try:
        if not _has_lists(engine):
            return
        with Session(engine.execution_options(**WRITE)) as session:
            screen_nomination(session, nomination_id=nomination_id, settings=settings, now=utcnow())
            session.commit()
    except Exception:
        log.exception("screening of nomination %s failed; it waits for the next one", nomination_id)


def screen_new_batch(engine: Engine, settings: Settings, campaign_id: int) -> None:
    """A batch just imported (issue 15): its nominees, and any other not screened yet."""
    try:
        if not _has_lists(engine):
            return
        with Session(engine.execution_options(**WRITE)) as session:
            campaign = session.get(Campaign, campaign_id)
            if campaign is None:
                return
            screen_pending(session, campaign=campaign, settings=settings, actor=None, now=utcnow())
            session.commit()
    except Exception:
        log.exception("screening of an imported batch failed; it waits for the next one")
