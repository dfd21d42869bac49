"""Open-data releases (issue 16): snapshots of an edition's datasets, each file as CSV and JSON
with its SHA-256 and size, kept in the database and never changed; the DCAT catalogue that
lists them with their history; the data dictionary; and the scheduled refresh of an open call.

A release is made only when the data changed (its fingerprint differs from the latest one's),
so the history lists real changes, each with what it changed.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy import select as select_columns
from sqlmodel import Session, col, select

from app.errors import NotFound
from app.i18n import N_
from app.models import (
    Account,
    Campaign,
    Channel,
    DataRelease,
    DataReleaseFile,
    Gender,
    GovernmentLevel,
)
from app.services import audit
from app.services.results.datasets import (
    ALL,
    INEGI_STATES,
    PARTICIPATION_DIMENSIONS,
    Dataset,
    edition_datasets,
)
from app.services.results.shared import lock_campaign
from app.services.text import neutralise

LICENSE = "https://creativecommons.org/licenses/by/4.0/"
MEDIA_TYPES = {"csv": "text/csv", "json": "application/json"}

# --- the data dictionary: every column of every file -------------------------------------

_YEAR = ("integer", "Año de la edición", "Year of the edition", "")
_THEME = (
    "string",
    "Tema de la convocatoria (slug); «all»: todos los temas",
    "Theme of the call (slug); 'all': every theme",
    "",
)
_COUNT = (
    "integer",
    "Número de nominaciones (vacío si está suprimido)",
    "Number of nominations (empty when suppressed)",
    "0 or more",
)
_FLAG = (
    "boolean",
    "«yes» si el valor se suprimió para proteger a las personas",
    "'yes' when the value was suppressed to protect people",
    "yes|no",
)
_CVE = (
    "string",
    "Clave de la entidad federativa del INEGI (cve_ent)",
    "INEGI state code (cve_ent)",
    "01-32",
)
_STATE = ("string", "Nombre de la entidad federativa (INEGI)", "State name (INEGI)", "")
DIMENSION_COLUMNS: dict[str, tuple[str, str, str, str]] = {
    "government_level": (
        "string",
        "Orden de gobierno de la persona nominada",
        "Government level of the nominee",
        "|".join(level.value for level in GovernmentLevel),
    ),
    "nominee_gender": (
        "string",
        "Género de la persona nominada (vacío: no dicho)",
        "Gender of the nominee (empty: not given)",
        "|".join(gender.value for gender in Gender),
    ),
    "channel": (
        "string",
        "Canal por el que llegó la nominación",
        "Channel the nomination came through",
        "|".join(channel.value for channel in Channel),
    ),
}
DICTIONARY: dict[str, dict[str, tuple[str, str, str, str]]] = {
    "participation": {
        "year": _YEAR,
        "theme": _THEME,
        "cve_ent": _CVE,
        "state": _STATE,
        **DIMENSION_COLUMNS,
        "nominations": _COUNT,
        "nominations_suppressed": _FLAG,
    },
    "participation_by_theme": {
        "year": _YEAR,
        "theme": _THEME,
        "nominations": _COUNT,
        "nominations_suppressed": _FLAG,
    },
    "participation_by_state": {
        "year": _YEAR,
        "theme": _THEME,
        "cve_ent": _CVE,
        "state": _STATE,
        "nominations": _COUNT,
        "nominations_suppressed": _FLAG,
    },
    "participation_by_week": {
        "year": _YEAR,
        "theme": _THEME,
        "week_start": (
            "date",
            "Lunes con que empieza la semana (UTC)",
            "Monday the week starts on (UTC)",
            "YYYY-MM-DD",
        ),
        "nominations": _COUNT,
        "nominations_suppressed": _FLAG,
    },
    "finalists": {
        "year": _YEAR,
        "theme": _THEME,
        "finalist_id": ("integer", "Identificador de la persona finalista", "Finalist id", ""),
        "public_name": ("string", "Nombre público", "Public name", ""),
        "public_position": ("string", "Cargo público", "Public position", ""),
        "public_institution": ("string", "Institución", "Institution", ""),
        "citation_es": ("string", "Reconocimiento en español", "Citation in Spanish", ""),
        "citation_en": ("string", "Reconocimiento en inglés", "Citation in English", ""),
        "winner": (
            "boolean",
            "Ganadora (vacío antes de publicar los resultados)",
            "Winner (empty before the results are published)",
            "yes|no|",
        ),
    },
    "path": {
        "year": _YEAR,
        "theme": _THEME,
        "stage": (
            "string",
            "Etapa del camino a las personas ganadoras",
            "Stage of the path to the winners",
            "received|eligible|candidates|finalists|winners",
        ),
        "count": (
            "integer",
            "Número en esa etapa (vacío si está suprimido)",
            "Number at that stage (empty when suppressed)",
            "0 or more",
        ),
        "count_suppressed": _FLAG,
    },
    "rubric": {
        "year": _YEAR,
        "position": ("integer", "Orden del criterio", "Order of the criterion", "1 or more"),
        "criterion_es": ("string", "Criterio en español", "Criterion in Spanish", ""),
        "criterion_en": ("string", "Criterio en inglés", "Criterion in English", ""),
        "weight": ("number", "Peso del criterio", "Weight of the criterion", "> 0"),
        "share_percent": ("number", "Parte del total, en %", "Share of the total, in %", "0-100"),
        "scale_min": ("integer", "Mínimo de la escala", "Lowest score", ""),
        "scale_max": ("integer", "Máximo de la escala", "Highest score", ""),
    },
    "meetings": {
        "year": _YEAR,
        "meeting": ("integer", "Número de la sesión", "Meeting number", "1 or more"),
        "held_on": ("date", "Fecha de la sesión", "Date of the meeting", "YYYY-MM-DD"),
        "themes": ("string", "Temas, separados por espacios", "Themes, space-separated", ""),
        "finalists": ("integer", "Finalistas evaluados", "Finalists scored", "0 or more"),
        "judges": (
            "integer",
            "Personas juzgadoras con hojas enviadas (vacío si está suprimido)",
            "Judges with submitted sheets (empty when suppressed)",
            "0 or more",
        ),
        "judges_suppressed": _FLAG,
        "score_sheets": (
            "integer",
            "Hojas de puntuación enviadas (vacío si está suprimido)",
            "Score sheets submitted (empty when suppressed)",
            "0 or more",
        ),
        "score_sheets_suppressed": _FLAG,
        "recusals": (
            "integer",
            "Excusas por conflicto de interés (vacío si está suprimido)",
            "Recusals for a conflict of interest (empty when suppressed)",
            "0 or more",
        ),
        "recusals_suppressed": _FLAG,
    },
    "scores": {
        "year": _YEAR,
        "meeting": ("integer", "Número de la sesión", "Meeting number", "1 or more"),
        "theme": _THEME,
        "finalist_id": ("integer", "Identificador de la persona finalista", "Finalist id", ""),
        "public_name": ("string", "Nombre público", "Public name", ""),
        "criterion_es": (
            "string",
            "Criterio en español, o «General (ponderado)»",
            "Criterion in Spanish, or the weighted overall score",
            "",
        ),
        "criterion_en": (
            "string",
            "Criterio en inglés, o «Overall (weighted)»",
            "Criterion in English, or 'Overall (weighted)'",
            "",
        ),
        "score": (
            "number",
            "Media del panel (nunca la de una persona juzgadora)",
            "The panel's mean (never a single judge's score)",
            "",
        ),
        "judges": ("integer", "Personas juzgadoras que puntuaron", "Judges who scored", ""),
        "score_withheld": (
            "boolean",
            "«yes» si puntuaron menos de 3 personas y la media no se publica",
            "'yes' when fewer than 3 judges scored and the mean is withheld",
            "yes|no",
        ),
    },
}
TITLES: dict[str, tuple[str, str]] = {
    "participation": (
        "Nominaciones por tema, entidad, orden de gobierno y género",
        "Nominations by theme, state, government level and gender",
    ),
    "participation_by_theme": ("Nominaciones por tema", "Nominations by theme"),
    "participation_by_state": ("Nominaciones por entidad federativa", "Nominations by state"),
    "participation_by_week": ("Nominaciones por semana", "Nominations by week"),
    "finalists": ("Finalistas y ganadoras", "Finalists and winners"),
    "path": ("Camino a las personas ganadoras", "The path to the winners"),
    "rubric": ("Rúbrica: criterios y pesos", "Rubric: criteria and weights"),
    "meetings": ("Sesiones de deliberación", "Deliberation meetings"),
    "scores": ("Puntuaciones agregadas por finalista", "Aggregated scores per finalist"),
}
DICTIONARY_HEADER = (
    "file",
    "column",
    "type",
    "meaning_es",
    "meaning_en",
    "allowed_values",
)


def dictionary_csv() -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(DICTIONARY_HEADER)
    dimensions = {d.name for d in PARTICIPATION_DIMENSIONS}
    for dataset, columns in DICTIONARY.items():
        for fmt in MEDIA_TYPES:
            for name, (kind, es, en, allowed) in columns.items():
                if name in DIMENSION_COLUMNS and name not in dimensions:
                    continue
                if name == "cve_ent":
                    allowed = "|".join(sorted(code for code, _ in INEGI_STATES.values()))
                writer.writerow([f"{dataset}.{fmt}", name, kind, es, en, allowed])
    return out.getvalue().encode()


# --- files -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BuiltFile:
    name: str
    media_type: str
    content: bytes
    rows: int
    lines: frozenset[str]

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


def _csv(dataset: Dataset) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(dataset.columns)
    for row in dataset.rows:
        writer.writerow(
            [
                "" if row[c] is None else neutralise(row[c]) if isinstance(row[c], str) else row[c]
                for c in dataset.columns
            ]
        )
    return out.getvalue().encode()


def _json(dataset: Dataset) -> bytes:
    data = {"dataset": dataset.name, "columns": dataset.columns, "rows": dataset.rows}
    return json.dumps(data, ensure_ascii=False, indent=1, sort_keys=False).encode() + b"\n"


def build_files(datasets: list[Dataset]) -> list[BuiltFile]:
    files = []
    for dataset in datasets:
        lines = frozenset(
            json.dumps([row[c] for c in dataset.columns], ensure_ascii=False, default=str)
            for row in dataset.rows
        )
        for ext, media_type in MEDIA_TYPES.items():
            content = _csv(dataset) if ext == "csv" else _json(dataset)
            files.append(
                BuiltFile(
                    name=f"{dataset.name}.{ext}",
                    media_type=media_type,
                    content=content,
                    rows=len(dataset.rows),
                    lines=lines,
                )
            )
    return files


def _fingerprint(files: list[BuiltFile]) -> str:
    text = "\n".join(f"{f.name} {f.sha256}" for f in files)
    return hashlib.sha256(text.encode()).hexdigest()


# --- releases --------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileChange:
    name: str
    rows_before: int | None
    rows_after: int | None
    added: int
    removed: int


@dataclass(frozen=True)
class ReleaseOutcome:
    campaign: Campaign
    release: DataRelease | None  # None: nothing changed since the latest release
    latest: DataRelease | None
    changes: list[FileChange]


def releases_of(session: Session, *, campaign_id: int) -> list[DataRelease]:
    """An edition's releases, newest first."""
    return list(
        session.exec(
            select(DataRelease)
            .where(DataRelease.campaign_id == campaign_id)
            .order_by(col(DataRelease.number).desc())
        ).all()
    )


def _latest(session: Session, campaign_id: int) -> DataRelease | None:
    return session.exec(
        select(DataRelease)
        .where(DataRelease.campaign_id == campaign_id)
        .order_by(col(DataRelease.number).desc())
        .limit(1)
    ).first()


def _previous_lines(session: Session, release: DataRelease) -> dict[str, tuple[int, set[str]]]:
    """The rows of the latest release's JSON files, by dataset, to tell what changed."""
    found: dict[str, tuple[int, set[str]]] = {}
    for name, content in session.execute(
        select(col(DataReleaseFile.name), col(DataReleaseFile.content)).where(
            DataReleaseFile.release_id == release.id, col(DataReleaseFile.name).like("%.json")
        )
    ).all():
        data = json.loads(content)
        lines = {
            json.dumps([row[c] for c in data["columns"]], ensure_ascii=False, default=str)
            for row in data["rows"]
        }
        found[name.removesuffix(".json")] = (len(data["rows"]), lines)
    return found


@dataclass(frozen=True)
class PreparedRelease:
    """The files of a release, built but not stored."""

    datasets: list[Dataset]
    files: list[BuiltFile]
    fingerprint: str


def prepare_release(session: Session, *, campaign: Campaign, min_count: int) -> PreparedRelease:
    """Reads only: the scheduled refresh builds in a read transaction, so that SQLite's write
    lock is held just for storing."""
    datasets = edition_datasets(session, campaign=campaign, min_count=min_count)
    files = build_files(datasets)
    return PreparedRelease(datasets=datasets, files=files, fingerprint=_fingerprint(files))


def make_release(
    session: Session,
    *,
    campaign: Campaign,
    min_count: int,
    made_by: str,
    note: str = "",
    actor: Account | None = None,
    now: datetime,
    progress: Callable[[str], None] | None = None,
    prepared: PreparedRelease | None = None,
) -> ReleaseOutcome:
    """A new release of the edition's open data if anything changed since the latest one
    (built here, or `prepared` beforehand by `prepare_release`)."""
    report = progress or (lambda _message: None)
    campaign = lock_campaign(session, campaign)
    assert campaign.id is not None
    if prepared is None:
        report("building the datasets")
        prepared = prepare_release(session, campaign=campaign, min_count=min_count)
    datasets, files, fingerprint = prepared.datasets, prepared.files, prepared.fingerprint
    latest = _latest(session, campaign.id)
    report("comparing with the latest release")
    before = _previous_lines(session, latest) if latest else {}
    changes = []
    after_names = {d.name for d in datasets}
    for dataset in datasets:
        rows_before, lines_before = before.get(dataset.name, (None, set()))
        lines = next(f.lines for f in files if f.name == f"{dataset.name}.json")
        changes.append(
            FileChange(
                name=dataset.name,
                rows_before=rows_before,
                rows_after=len(dataset.rows),
                added=len(lines - lines_before),
                removed=len(lines_before - lines),
            )
        )
    for name, (rows_before, lines_before) in before.items():
        if name not in after_names:
            changes.append(FileChange(name, rows_before, None, 0, len(lines_before)))
    if latest is not None and latest.fingerprint == fingerprint:
        return ReleaseOutcome(campaign=campaign, release=None, latest=latest, changes=changes)
    release = DataRelease(
        campaign_id=campaign.id,
        number=(latest.number if latest else 0) + 1,
        created_at=now,
        note=note,
        made_by=made_by,
        fingerprint=fingerprint,
        changes=json.dumps([c.__dict__ for c in changes]),
    )
    session.add(release)
    session.flush()
    assert release.id is not None
    report(f"writing release {release.number}")
    for built in files:
        session.add(
            DataReleaseFile(
                release_id=release.id,
                name=built.name,
                media_type=built.media_type,
                sha256=built.sha256,
                byte_size=len(built.content),
                rows=built.rows,
                content=built.content,
            )
        )
    session.flush()
    if actor is not None:
        audit.record(
            session,
            actor=actor,
            action="data.release",
            object_type="data_release",
            object_id=str(release.id),
            after={"year": campaign.year, "number": release.number, "note": note},
        )
    return ReleaseOutcome(campaign=campaign, release=release, latest=latest, changes=changes)


# --- reading releases --------------------------------------------------------------------------


@dataclass(frozen=True)
class FileInfo:
    name: str
    media_type: str
    sha256: str
    byte_size: int
    rows: int


@dataclass(frozen=True)
class ReleaseInfo:
    release: DataRelease
    files: list[FileInfo]

    @property
    def changes(self) -> list[dict[str, Any]]:
        return list(json.loads(self.release.changes or "[]"))


@dataclass(frozen=True)
class EditionData:
    campaign: Campaign
    releases: list[ReleaseInfo]  # newest first

    @property
    def latest(self) -> ReleaseInfo | None:
        return self.releases[0] if self.releases else None

    def datasets(self) -> list[str]:
        latest = self.latest
        if latest is None:
            return []
        return list(dict.fromkeys(f.name.rsplit(".", 1)[0] for f in latest.files))


def campaign_by_year(session: Session, year: int) -> Campaign:
    campaign = None
    if 1900 <= year <= 9999:
        campaign = session.exec(select(Campaign).where(Campaign.year == year)).first()
    if campaign is None:
        raise NotFound(N_("There is no open data for this year."))
    return campaign


def edition_data(session: Session, *, campaign: Campaign) -> EditionData:
    """An edition's releases and their files (not their bytes), in two queries."""
    assert campaign.id is not None
    releases = releases_of(session, campaign_id=campaign.id)
    by_release: dict[int, list[FileInfo]] = {}
    if releases:
        for release_id, name, media_type, sha, size, rows in session.execute(
            select_columns(
                col(DataReleaseFile.release_id),
                col(DataReleaseFile.name),
                col(DataReleaseFile.media_type),
                col(DataReleaseFile.sha256),
                col(DataReleaseFile.byte_size),
                col(DataReleaseFile.rows),
            )
            .where(col(DataReleaseFile.release_id).in_([r.id for r in releases]))
            .order_by(col(DataReleaseFile.id))
        ).all():
            by_release.setdefault(release_id, []).append(
                FileInfo(name, media_type, sha, int(size), int(rows))
            )
    return EditionData(
        campaign=campaign,
        releases=[ReleaseInfo(release=r, files=by_release.get(r.id or 0, [])) for r in releases],
    )


def editions_with_data(session: Session) -> list[EditionData]:
    """Every edition with at least one release, newest first."""
    campaigns = session.exec(
        select(Campaign)
        .where(col(Campaign.id).in_(select(DataRelease.campaign_id).distinct()))
        .order_by(col(Campaign.year).desc())
    ).all()
    return [edition_data(session, campaign=c) for c in campaigns]


@dataclass(frozen=True)
class StoredFile:
    name: str
    media_type: str
    content: bytes
    sha256: str
    number: int


def release_file(session: Session, *, year: int, number: int | None, name: str) -> StoredFile:
    """A file of a release (the latest when `number` is None)."""
    campaign = campaign_by_year(session, year)
    query = (
        select(DataReleaseFile, DataRelease)
        .join(DataRelease, col(DataRelease.id) == DataReleaseFile.release_id)
        .where(DataRelease.campaign_id == campaign.id, DataReleaseFile.name == name[:80])
    )
    if number is None:
        query = query.order_by(col(DataRelease.number).desc()).limit(1)
    else:
        query = query.where(DataRelease.number == number)
    row = session.exec(query).first()
    if row is None:
        raise NotFound(N_("There is no such file in this edition's open data."))
    stored, release = row
    return StoredFile(
        name=stored.name,
        media_type=stored.media_type,
        content=bytes(stored.content),
        sha256=stored.sha256,
        number=release.number,
    )


def latest_dataset(session: Session, *, campaign_id: int, name: str) -> dict[str, Any] | None:
    """The rows of a dataset of the edition's latest release, read from its stored JSON file:
    what the charts and the API show, never computed per request."""
    content = session.execute(
        select(col(DataReleaseFile.content))
        .join(DataRelease, col(DataRelease.id) == DataReleaseFile.release_id)
        .where(DataRelease.campaign_id == campaign_id, DataReleaseFile.name == f"{name}.json")
        .order_by(col(DataRelease.number).desc())
        .limit(1)
    ).scalar_one_or_none()
    return None if content is None else dict(json.loads(content))


def release_count(session: Session) -> int:
    return int(session.execute(select(func.count()).select_from(DataRelease)).scalar_one())


# --- the DCAT catalogue ------------------------------------------------------------------------

CONTEXT = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "spdx": "http://spdx.org/rdf/terms#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "downloadURL": {"@id": "dcat:downloadURL", "@type": "@id"},
    "mediaType": {"@id": "dcat:mediaType"},
    "byteSize": {"@id": "dcat:byteSize", "@type": "xsd:nonNegativeInteger"},
    "checksum": {"@id": "spdx:checksum"},
    "algorithm": {"@id": "spdx:algorithm", "@type": "@id"},
    "checksumValue": {"@id": "spdx:checksumValue", "@type": "xsd:hexBinary"},
    "modified": {"@id": "dct:modified", "@type": "xsd:dateTime"},
    "issued": {"@id": "dct:issued", "@type": "xsd:dateTime"},
    "title": {"@id": "dct:title", "@container": "@language"},
    "description": {"@id": "dct:description", "@container": "@language"},
    "license": {"@id": "dct:license", "@type": "@id"},
    "identifier": {"@id": "dct:identifier"},
    "version": {"@id": "dcat:version"},
    "dataset": {"@id": "dcat:dataset", "@container": "@set"},
    "distribution": {"@id": "dcat:distribution", "@container": "@set"},
    "hasVersion": {"@id": "dcat:hasVersion", "@container": "@set"},
    "conformsTo": {"@id": "dct:conformsTo", "@type": "@id"},
    "publisher": {"@id": "dct:publisher"},
    "name": {"@id": "foaf:name"},
}
SHA256 = "spdx:checksumAlgorithm_sha256"


def _distributions(
    files: list[FileInfo], *, dataset: str, base: str, modified: str
) -> list[dict[str, Any]]:
    return [
        {
            "@type": "dcat:Distribution",
            "title": {"es": f.name, "en": f.name},
            "downloadURL": f"{base}/{f.name}",
            "mediaType": f.media_type,
            "byteSize": f.byte_size,
            "checksum": {
                "@type": "spdx:Checksum",
                "algorithm": SHA256,
                "checksumValue": f.sha256,
            },
            "modified": modified,
            "license": LICENSE,
        }
        for f in files
        if f.name.rsplit(".", 1)[0] == dataset
    ]


def catalog(data: EditionData, *, base_url: str, org_name: str) -> dict[str, Any]:
    """The edition's DCAT catalogue as JSON-LD: a dataset per file of the latest release, at
    stable addresses, and every release (the latest first) with its own addresses."""
    base = base_url.rstrip("/")
    year = data.campaign.year
    latest = data.latest
    catalogue: dict[str, Any] = {
        "@context": CONTEXT,
        "@id": f"{base}/data/{year}/catalog.json",
        "@type": "dcat:Catalog",
        "title": {
            "es": f"Datos abiertos de Integrity Icon {year}",
            "en": f"Integrity Icon {year} open data",
        },
        "description": {
            "es": "Participación, finalistas y camino a las personas ganadoras; conteos "
            "pequeños suprimidos. Diccionario: " + f"{base}/data/{year}/dictionary.csv",
            "en": "Participation, finalists and the path to the winners; small counts "
            "suppressed. Dictionary: " + f"{base}/data/{year}/dictionary.csv",
        },
        "license": LICENSE,
        "publisher": {"@type": "foaf:Organization", "name": org_name},
        "dataset": [],
        "hasVersion": [],
    }
    if latest is None:
        return catalogue
    modified = latest.release.created_at.isoformat()
    catalogue["version"] = str(latest.release.number)
    catalogue["modified"] = modified
    for dataset in data.datasets():
        title_es, title_en = TITLES.get(dataset, (dataset, dataset))
        catalogue["dataset"].append(
            {
                "@id": f"{base}/data#{year}-{dataset}",
                "@type": "dcat:Dataset",
                "identifier": f"integrity-icon-{year}-{dataset}",
                "title": {"es": title_es, "en": title_en},
                "license": LICENSE,
                "version": str(latest.release.number),
                "modified": modified,
                "conformsTo": f"{base}/data/{year}/dictionary.csv",
                "distribution": _distributions(
                    latest.files, dataset=dataset, base=f"{base}/data/{year}", modified=modified
                ),
            }
        )
    for info in data.releases:
        release = info.release
        issued = release.created_at.isoformat()
        names = list(dict.fromkeys(f.name.rsplit(".", 1)[0] for f in info.files))
        catalogue["hasVersion"].append(
            {
                "@id": f"{base}/data/{year}/catalog.json#release-{release.number}",
                "@type": "dcat:Catalog",
                "version": str(release.number),
                "issued": issued,
                "description": {
                    "es": release.note or "Actualización programada o manual.",
                    "en": release.note or "Scheduled or manual update.",
                },
                "dataset": [
                    {
                        "@id": f"{base}/data/{year}/catalog.json#release-{release.number}-{name}",
                        "@type": "dcat:Dataset",
                        "identifier": f"integrity-icon-{year}-{name}-r{release.number}",
                        "title": {
                            "es": TITLES.get(name, (name, name))[0],
                            "en": TITLES.get(name, (name, name))[1],
                        },
                        "distribution": _distributions(
                            info.files,
                            dataset=name,
                            base=f"{base}/data/{year}/releases/{release.number}",
                            modified=issued,
                        ),
                    }
                    for name in names
                ],
            }
        )
    return catalogue


def theme_rows(
    dataset: dict[str, Any] | None, *, theme: str = ALL, value: str = "nominations"
) -> list[dict[str, Any]]:
    if dataset is None:
        return []
    return [row for row in dataset["rows"] if row.get("theme") == theme and value in row]


# --- a finalist who withdrew ---------------------------------------------------------------


def redact_finalist(
    session: Session, *, campaign_id: int, finalist_id: int, actor: Account | None
) -> int:
    """The one place a release's files change after they were written: a finalist who
    withdrew consent is taken out of every file of every release of the edition that names
    them (the rows with their `finalist_id`), so their data is in no open-data file, old or
    new. Counts stay as they were: they name no one. Each release changed is audited with
    its files' checksums before and after, so a redaction is told apart from tampering.
    Returns how many releases changed."""
    releases = {
        r.id: r
        for r in session.exec(
            select(DataRelease).where(DataRelease.campaign_id == campaign_id).with_for_update()
        ).all()
    }
    if not releases:
        return 0
    stored = session.exec(
        select(DataReleaseFile)
        .where(col(DataReleaseFile.release_id).in_(list(releases)))
        .where(col(DataReleaseFile.name).endswith(".json"))
    ).all()
    changed: dict[int, dict[str, tuple[str, str]]] = {}
    for json_file in stored:
        data = json.loads(json_file.content)
        if "finalist_id" not in data["columns"]:
            continue
        kept = [row for row in data["rows"] if row.get("finalist_id") != finalist_id]
        if len(kept) == len(data["rows"]):
            continue
        dataset = Dataset(name=data["dataset"], columns=data["columns"], rows=kept)
        for built in build_files([dataset]):
            target = session.exec(
                select(DataReleaseFile).where(
                    DataReleaseFile.release_id == json_file.release_id,
                    DataReleaseFile.name == built.name,
                )
            ).one()
            changed.setdefault(target.release_id, {})[built.name] = (target.sha256, built.sha256)
            target.content = built.content
            target.sha256 = built.sha256
            target.byte_size = len(built.content)
            target.rows = built.rows
            session.add(target)
    session.flush()
    for release_id, files in changed.items():
        release = releases[release_id]
        names_hashes = session.execute(
            select_columns(col(DataReleaseFile.name), col(DataReleaseFile.sha256))
            .where(col(DataReleaseFile.release_id) == release_id)
            .order_by(col(DataReleaseFile.id))
        ).all()
        before_fingerprint = release.fingerprint
        text = "\n".join(f"{name} {sha}" for name, sha in names_hashes)
        release.fingerprint = hashlib.sha256(text.encode()).hexdigest()
        session.add(release)
        audit.record(
            session,
            actor=actor,
            action="data.release_redacted",
            object_type="data_release",
            object_id=str(release_id),
            before={
                "fingerprint": before_fingerprint,
                "files": {name: old for name, (old, _new) in sorted(files.items())},
            },
            after={
                "fingerprint": release.fingerprint,
                "files": {name: new for name, (_old, new) in sorted(files.items())},
                "number": release.number,
                "finalist_id": finalist_id,
                "reason": "consent.withdrawn",
            },
        )
    session.flush()
    return len(changed)
