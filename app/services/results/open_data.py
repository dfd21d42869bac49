"""The published results as open data: JSON for programs, CSV for spreadsheets."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from typing import Any

from app.services.results.public import photo_path
from app.services.results.revisions import RevisionView
from app.services.text import neutralise


def results_json(view: RevisionView, *, base_url: str) -> dict[str, Any]:
    base = base_url.rstrip("/")
    year = view.campaign.year
    content = json.loads(json.dumps(view.content))
    for theme in content["themes"]:
        for entry in [*theme["winners"], *theme["finalists"]]:
            entry["photo_url"] = base + photo_path(entry) if entry["photo_sha256"] else None
        for entry in theme["winners"]:
            entry["url"] = f"{base}/results/{year}/winners/{entry['finalist_id']}"
    return {
        "revision": {
            "number": view.revision.number,
            "published_at": _iso(view.revision.published_at),
            "reason": view.revision.reason,
            "url": f"{base}/results/{year}/revisions/{view.revision.number}",
        },
        "revisions": [
            {"number": r.number, "published_at": _iso(r.published_at), "reason": r.reason}
            for r in view.history
        ],
        **content,
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


CSV_COLUMNS = (
    "year",
    "revision",
    "published_at",
    "theme",
    "theme_name_es",
    "theme_name_en",
    "finalist_id",
    "winner",
    "public_name",
    "public_position",
    "public_institution",
    "citation_es",
    "citation_en",
    "photo_url",
    "theme_nominations",
    "theme_candidates",
    "theme_finalists",
    "nominations",
    "candidates",
    "finalists",
    "judges",
    "meetings",
    "recusals",
    "criteria",
)


def results_csv(view: RevisionView, *, base_url: str) -> str:
    """One row per finalist of the edition (winners flagged), each carrying the edition's
    aggregate figures, so the file stands alone in a spreadsheet."""
    base = base_url.rstrip("/")
    content = view.content
    how = content["how_chosen"]
    figures = how["figures"]
    criteria = "; ".join(
        f"{c['name_es']} / {c['name_en']}: {c['share_percent']}%" for c in how["criteria"]
    )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for theme in content["themes"]:
        winners = {w["finalist_id"] for w in theme["winners"]}
        for entry in theme["finalists"]:
            row = [
                view.campaign.year,
                view.revision.number,
                _iso(view.revision.published_at),
                theme["slug"],
                theme["name_es"],
                theme["name_en"],
                entry["finalist_id"],
                "yes" if entry["finalist_id"] in winners else "no",
                entry["public_name"],
                entry["public_position"],
                entry["public_institution"],
                entry["citation_es"],
                entry["citation_en"],
                base + photo_path(entry) if entry["photo_sha256"] else "",
                theme["figures"]["nominations"],
                theme["figures"]["candidates"],
                theme["figures"]["finalists"],
                figures["nominations"],
                figures["candidates"],
                figures["finalists"],
                figures["judges"],
                figures["meetings"],
                figures["recusals"],
                criteria,
            ]
            writer.writerow([neutralise(v) if isinstance(v, str) else v for v in row])
    return out.getvalue()
