"""Readers of the registry files as their publishers write them, one entry at a time.

Each reader takes a binary file and yields `ListedEntry` values while it reads, so a file of
hundreds of megabytes is never held whole (OFAC's aliases, a tenth of its size, are). A file
that cannot be read raises `FileRefused` naming the line (or JSON record) and the field.

- `ofac-sdn`: SDN.CSV, no header, twelve columns, `-0-` for empty; aliases from ALT.CSV.
- `pdn-s3`: the PDN's sanctioned public servants (system 3), a JSON list of records, bare or
  under `results`.
- `sat-69b`: SAT's complete 69-B list, title lines before the header row, often Latin-1.
- `csv`: any list with a `name` column (`id`, `aliases` separated by `;`, `type`, `remarks`,
  `url` optional).
"""

import codecs
import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import IO, Any

import ijson

from app.errors import InvalidInput
from app.forms.sanctions import clean_identifier, valid_curp, valid_rfc
from app.i18n import N_
from app.models import EntryType, ListFormat, SanctionEntry
from app.services.candidates.sanctions.matcher import (
    Listed,
    birth_date_from_curp,
    birth_date_from_rfc,
    gender_from_curp,
)
from app.services.text import fold

OFAC_NULL = "-0-"
OFAC_COLUMNS = 12
ALT_COLUMNS = 5
# SAT puts a few title lines before its header row; farther than this, there is none.
HEADER_SEARCH_LINES = 30
MAX_NAME = 500
MAX_FIELD = 20_000

csv.field_size_limit(1024 * 1024)


class FileRefused(InvalidInput):
    """A list file that cannot be imported; nothing of it is stored."""


@dataclass
class ListedEntry:
    external_id: str
    name: str
    entry_type: EntryType = EntryType.person
    aliases: list[str] = field(default_factory=list)
    rfc: str = ""
    curp: str = ""
    birth_date: str = ""
    birth_years: tuple[int, int] | None = None
    gender: str = ""
    position: str = ""
    institution: str = ""
    sanction_type: str = ""
    dates: str = ""
    program: str = ""
    remarks: str = ""
    url: str = ""


# --- text -------------------------------------------------------------------------------------


def _lines(binary: IO[bytes]) -> Iterator[str]:
    """The file's lines as text: UTF-8 (with or without BOM) where it is, Windows-1252 (a
    superset of Latin-1 in its printable range) for a line that is not, whatever the line ends."""
    text = io.TextIOWrapper(binary, encoding="utf-8-sig", errors="surrogateescape", newline=None)
    for line in text:
        if any("\udc80" <= c <= "\udcff" for c in line):
            raw = line.encode("utf-8", "surrogateescape")
            line = raw.decode("cp1252", errors="replace")
        yield line


class _NumberedLines:
    """Lines for csv.reader, remembering the number of the last one read (a quoted field may
    span several)."""

    def __init__(self, lines: Iterable[str]) -> None:
        self._lines = iter(lines)
        self.number = 0

    def __iter__(self) -> "_NumberedLines":
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.number += 1
        return line


def _rows(binary: IO[bytes]) -> Iterator[tuple[int, list[str]]]:
    lines = _NumberedLines(_lines(binary))
    reader = csv.reader(lines)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise FileRefused(
                N_("Line %(line)s: the CSV cannot be read (%(problem)s)."),
                line=lines.number,
                problem=str(error),
            ) from error
        yield lines.number, row


def _clean(value: str, *, limit: int = MAX_FIELD) -> str:
    return " ".join(value.replace("\x1a", "").split())[:limit]


def _ofac(value: str) -> str:
    value = _clean(value)
    return "" if value == OFAC_NULL else value


def _identifier(value: str) -> str:
    return clean_identifier(value or "")


# --- dates of birth ------------------------------------------------------------------------------

_DOB = re.compile(r"\bDOB\s+([^;]+)", re.IGNORECASE)
_YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)\b")
_GENDER = re.compile(r"\bGender\s+(Male|Female)\b", re.IGNORECASE)
_OFAC_CURP = re.compile(r"C\.?U\.?R\.?P\.?\s*#?\s*([A-Z0-9]{18})", re.IGNORECASE)
_OFAC_RFC = re.compile(r"R\.?F\.?C\.?\s*#?\s*([A-Z&Ñ]{3,4}[0-9]{6}[A-Z0-9]{0,3})", re.IGNORECASE)


def _years(text: str) -> tuple[int, int] | None:
    years = [int(y) for y in _YEAR.findall(text)]
    return (min(years), max(years)) if years else None


def _years_of(day: date | None) -> tuple[int, int] | None:
    return (day.year, day.year) if day else None


# --- OFAC SDN ---------------------------------------------------------------------------------

_OFAC_TYPES = {"individual": EntryType.person, "": EntryType.organisation}


def read_ofac_aliases(binary: IO[bytes]) -> dict[str, list[str]]:
    """ALT.CSV: ent_num, alt_num, alt_type (aka, fka, nka), alt_name, alt_remarks."""
    aliases: dict[str, list[str]] = {}
    for line, row in _rows(binary):
        if not row or (len(row) == 1 and not _clean(row[0])):
            continue  # the blank or end-of-file (Ctrl-Z) line OFAC ends its files with
        if len(row) != ALT_COLUMNS:
            raise FileRefused(
                N_(
                    "Aliases file, line %(line)s: %(count)s columns where %(expected)s were"
                    " expected."
                ),
                line=line,
                count=len(row),
                expected=ALT_COLUMNS,
            )
        ent_num = _ofac(row[0])
        if not ent_num.isdigit():
            raise FileRefused(
                N_("Aliases file, line %(line)s: %(field)s should be a number, not “%(value)s”."),
                line=line,
                field="ent_num",
                value=ent_num[:40],
            )
        name = _ofac(row[3])
        if name:
            aliases.setdefault(ent_num, []).append(name[:MAX_NAME])
    return aliases


def read_ofac_sdn(
    binary: IO[bytes], *, aliases: dict[str, list[str]] | None = None, today: date
) -> Iterator[ListedEntry]:
    seen: set[str] = set()
    for line, row in _rows(binary):
        if not row or (len(row) == 1 and not _clean(row[0])):
            continue
        if len(row) != OFAC_COLUMNS:
            raise FileRefused(
                N_("Line %(line)s: %(count)s columns where %(expected)s were expected."),
                line=line,
                count=len(row),
                expected=OFAC_COLUMNS,
            )
        ent_num = _ofac(row[0])
        if not ent_num.isdigit():
            raise FileRefused(
                N_("Line %(line)s: %(field)s should be a number, not “%(value)s”."),
                line=line,
                field="ent_num",
                value=ent_num[:40],
            )
        if ent_num in seen:
            raise FileRefused(
                N_("Line %(line)s: %(field)s %(value)s appears twice in the file."),
                line=line,
                field="ent_num",
                value=ent_num,
            )
        seen.add(ent_num)
        name = _ofac(row[1])[:MAX_NAME]
        if not name:
            raise FileRefused(
                N_("Line %(line)s: %(field)s is empty; every entry needs a name."),
                line=line,
                field="SDN_Name",
            )
        kind = _ofac(row[2]).lower()
        remarks = _ofac(row[11])
        curp = next(
            (c for c in (m.upper() for m in _OFAC_CURP.findall(remarks)) if valid_curp(c)), ""
        )
        rfc = next((r for r in (m.upper() for m in _OFAC_RFC.findall(remarks)) if valid_rfc(r)), "")
        dob = _DOB.search(remarks)
        birth_date = _clean(dob.group(1)) if dob else ""
        years = _years(birth_date) or _years_of(birth_date_from_curp(curp, today))
        gender_match = _GENDER.search(remarks)
        gender = ""
        if gender_match:
            gender = "M" if gender_match.group(1).lower() == "male" else "F"
        elif curp:
            gender = gender_from_curp(curp)
        yield ListedEntry(
            external_id=ent_num,
            name=name,
            entry_type=_OFAC_TYPES.get(kind, EntryType.other),
            aliases=(aliases or {}).get(ent_num, []),
            rfc=rfc,
            curp=curp,
            birth_date=birth_date[:120],
            birth_years=years,
            gender=gender,
            position=_ofac(row[4])[:500],
            program=_ofac(row[3])[:300],
            remarks=remarks,
            url="https://sanctionssearch.ofac.treas.gov/Details.aspx?id=" + ent_num,
        )


# --- PDN system 3 -------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str | int | float):
        return _clean(str(value))
    if isinstance(value, dict):
        return _text(value.get("valor") or value.get("nombre") or value.get("descripcion"))
    return ""


def _pdn_records(binary: IO[bytes]) -> Iterator[tuple[int, Any]]:
    """The records of a bare list, or of the list under `results`, streamed."""
    head = binary.read(4096)
    stripped = head.lstrip(codecs.BOM_UTF8).lstrip()
    rest = io.BufferedReader(_Prefixed(head, binary))
    if stripped.startswith(b"["):
        prefix = "item"
    elif stripped.startswith(b"{"):
        prefix = "results.item"
    else:
        raise FileRefused(
            N_(
                "The file is not JSON: it should start with a list of records, or an object with"
                " the list under “results”."
            )
        )
    number = 0
    try:
        for record in ijson.items(rest, prefix, use_float=True):
            number += 1
            yield number, record
    except ijson.JSONError as error:
        raise FileRefused(
            N_("Record %(record)s: the JSON cannot be read (%(problem)s)."),
            record=number + 1,
            problem=str(error)[:200],
        ) from error
    if number == 0 and prefix == "results.item":
        raise FileRefused(N_("The JSON object has no list of records under “results”."))


class _Prefixed(io.RawIOBase):
    """A binary stream that first gives back bytes already read from it."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        self._head = head
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _field(record: dict[str, Any], number: int, *path: str) -> Any:
    value: Any = record
    for part in path:
        if value is None:
            return None
        if not isinstance(value, dict):
            raise FileRefused(
                N_("Record %(record)s: %(field)s should be an object."),
                record=number,
                field=".".join(path[: path.index(part)]) or part,
            )
        value = value.get(part)
    return value


def read_pdn_s3(binary: IO[bytes], *, today: date) -> Iterator[ListedEntry]:
    seen: dict[str, int] = {}
    for number, record in _pdn_records(binary):
        if not isinstance(record, dict):
            raise FileRefused(N_("Record %(record)s is not an object."), record=number)
        person = _field(record, number, "servidorPublicoSancionado")
        if not isinstance(person, dict):
            raise FileRefused(
                N_("Record %(record)s: %(field)s is missing."),
                record=number,
                field="servidorPublicoSancionado",
            )
        given = _text(person.get("nombres"))
        first = _text(person.get("primerApellido"))
        second = _text(person.get("segundoApellido"))
        if not given or not first:
            raise FileRefused(
                N_("Record %(record)s: %(field)s is missing."),
                record=number,
                field="servidorPublicoSancionado." + ("nombres" if not given else "primerApellido"),
            )
        name = " ".join(part for part in (given, first, second) if part)[:MAX_NAME]
        rfc = _identifier(_text(person.get("rfc")))
        curp = _identifier(_text(person.get("curp")))
        rfc = rfc if valid_rfc(rfc) else ""
        curp = curp if valid_curp(curp) else ""
        born = birth_date_from_curp(curp, today) or birth_date_from_rfc(rfc, today)
        gender = gender_from_curp(curp)
        genero = _text(_field(record, number, "servidorPublicoSancionado", "genero")).lower()
        if not gender and genero:
            gender = {"femenino": "F", "mujer": "F", "masculino": "M", "hombre": "M"}.get(
                genero, ""
            )
        sanctions = record.get("tipoSancion") or []
        if isinstance(sanctions, dict):
            sanctions = [sanctions]
        if not isinstance(sanctions, list):
            raise FileRefused(
                N_("Record %(record)s: %(field)s should be a list."),
                record=number,
                field="tipoSancion",
            )
        sanction_type = "; ".join(filter(None, (_text(s) for s in sanctions)))
        resolution = _text(_field(record, number, "resolucion", "fechaResolucion"))
        start = _text(_field(record, number, "inhabilitacion", "fechaInicial"))
        end = _text(_field(record, number, "inhabilitacion", "fechaFinal"))
        dates = "; ".join(
            f"{label}: {value}"
            for label, value in (
                ("resolución", resolution),
                ("inhabilitación desde", start),
                ("inhabilitación hasta", end),
            )
            if value
        )
        file_number = _text(record.get("expediente"))
        external = _text(record.get("id")) or file_number or f"{fold(name)}|{rfc}{curp}"
        if external in seen:
            seen[external] += 1
            external = f"{external}~{seen[external]}"
        else:
            seen[external] = 1
        remarks = "; ".join(
            filter(
                None,
                (
                    f"expediente {file_number}" if file_number else "",
                    _text(_field(record, number, "tipoFalta")),
                    _text(record.get("causaMotivoHechos")),
                    _text(record.get("observaciones")),
                ),
            )
        )
        yield ListedEntry(
            external_id=external[:120],
            name=name,
            entry_type=EntryType.person,
            rfc=rfc,
            curp=curp,
            birth_date=born.isoformat() if born else "",
            birth_years=_years_of(born),
            gender=gender,
            position=_text(person.get("puesto"))[:500],
            institution=_text(_field(record, number, "institucionDependencia", "nombre"))[:500],
            sanction_type=sanction_type,
            dates=dates,
            remarks=remarks,
            url=_text(_field(record, number, "resolucion", "url"))[:1000],
        )


# --- CSV with a header row (SAT 69-B, any list) ---------------------------------------------------


def _header_key(value: str) -> str:
    return fold(value).strip()


def _find_header(
    rows: Iterator[tuple[int, list[str]]], required: tuple[str, ...], *, search: int
) -> tuple[list[str], dict[str, int]]:
    """The header row (as written) and each column's position by its folded name."""
    for line, row in rows:
        keys = {_header_key(cell): position for position, cell in enumerate(row)}
        if all(name in keys for name in required):
            return row, keys
        if line >= search:
            break
    raise FileRefused(
        N_("No header row with the columns %(columns)s was found in the first %(lines)s lines."),
        columns=", ".join(required),
        lines=search,
    )


def read_sat_69b(binary: IO[bytes], *, today: date) -> Iterator[ListedEntry]:
    rows = _rows(binary)
    titles, header = _find_header(
        rows, ("rfc", "nombre del contribuyente"), search=HEADER_SEARCH_LINES
    )
    rfc_at = header["rfc"]
    name_at = header["nombre del contribuyente"]
    status_at = header.get("situacion del contribuyente")
    dated = [
        (_clean(titles[position]), position)
        for cell, position in header.items()
        if cell.startswith(("publicacion", "numero y fecha"))
    ]
    seen: dict[str, int] = {}
    for line, row in rows:
        if not any(cell.strip() for cell in row):
            continue
        if len(row) <= max(rfc_at, name_at):
            raise FileRefused(
                N_("Line %(line)s: %(count)s columns where %(expected)s were expected."),
                line=line,
                count=len(row),
                expected=len(header),
            )
        rfc = _identifier(row[rfc_at])
        name = _clean(row[name_at], limit=MAX_NAME)
        if not name:
            raise FileRefused(
                N_("Line %(line)s: %(field)s is empty; every entry needs a name."),
                line=line,
                field="Nombre del Contribuyente",
            )
        if rfc and not valid_rfc(rfc):
            raise FileRefused(
                N_("Line %(line)s: %(field)s “%(value)s” is not an RFC."),
                line=line,
                field="RFC",
                value=rfc[:20],
            )
        # A person's RFC has 13 characters and starts with four letters; a company's has 12.
        person = len(rfc) == 13
        born = birth_date_from_rfc(rfc, today) if person else None
        external = rfc or fold(name)
        if external in seen:
            seen[external] += 1
            external = f"{external}~{seen[external]}"
        else:
            seen[external] = 1
        status = _clean(row[status_at]) if status_at is not None and status_at < len(row) else ""
        dates = "; ".join(
            f"{label}: {_clean(row[position])}"
            for label, position in dated
            if position < len(row) and _clean(row[position])
        )
        yield ListedEntry(
            external_id=external[:120],
            name=name,
            entry_type=EntryType.person if person else EntryType.organisation,
            rfc=rfc,
            birth_date=born.isoformat() if born else "",
            birth_years=_years_of(born),
            sanction_type=status,
            dates=dates[:MAX_FIELD],
        )


_TYPES = {
    "person": EntryType.person,
    "persona": EntryType.person,
    "individual": EntryType.person,
    "persona fisica": EntryType.person,
    "organisation": EntryType.organisation,
    "organization": EntryType.organisation,
    "organizacion": EntryType.organisation,
    "entity": EntryType.organisation,
    "company": EntryType.organisation,
    "empresa": EntryType.organisation,
    "persona moral": EntryType.organisation,
    "": EntryType.person,
}


def read_csv_list(binary: IO[bytes], *, today: date) -> Iterator[ListedEntry]:
    rows = _rows(binary)
    _, header = _find_header(rows, ("name",), search=1)
    seen: dict[str, int] = {}

    def cell(row: list[str], name: str) -> str:
        position = header.get(name)
        return _clean(row[position]) if position is not None and position < len(row) else ""

    for line, row in rows:
        if not any(value.strip() for value in row):
            continue
        name = cell(row, "name")[:MAX_NAME]
        if not name:
            raise FileRefused(
                N_("Line %(line)s: %(field)s is empty; every entry needs a name."),
                line=line,
                field="name",
            )
        kind = fold(cell(row, "type"))
        if kind not in _TYPES:
            raise FileRefused(
                N_("Line %(line)s: %(field)s “%(value)s” should be person or organisation."),
                line=line,
                field="type",
                value=cell(row, "type")[:40],
            )
        external = cell(row, "id")[:120] or fold(name)
        if external in seen:
            if "id" in header:
                raise FileRefused(
                    N_("Line %(line)s: %(field)s %(value)s appears twice in the file."),
                    line=line,
                    field="id",
                    value=external[:40],
                )
            seen[external] += 1
            external = f"{external}~{seen[external]}"
        else:
            seen[external] = 1
        aliases = [
            a for a in (_clean(a, limit=MAX_NAME) for a in cell(row, "aliases").split(";")) if a
        ]
        rfc = _identifier(cell(row, "rfc"))
        curp = _identifier(cell(row, "curp"))
        rfc = rfc if valid_rfc(rfc) else ""
        curp = curp if valid_curp(curp) else ""
        born = birth_date_from_curp(curp, today) or birth_date_from_rfc(rfc, today)
        yield ListedEntry(
            external_id=external[:120],
            name=name,
            entry_type=_TYPES[kind],
            aliases=aliases,
            rfc=rfc,
            curp=curp,
            birth_date=born.isoformat() if born else "",
            birth_years=_years_of(born),
            gender=gender_from_curp(curp),
            remarks=cell(row, "remarks"),
            url=cell(row, "url")[:1000],
        )


Reader = Callable[[IO[bytes]], Iterator[ListedEntry]]


def reader_for(
    list_format: ListFormat, *, aliases: IO[bytes] | None, today: date
) -> Callable[[IO[bytes]], Iterator[ListedEntry]]:
    if list_format is ListFormat.ofac_sdn:
        alias_names = read_ofac_aliases(aliases) if aliases is not None else None
        return lambda binary: read_ofac_sdn(binary, aliases=alias_names, today=today)
    if aliases is not None:
        raise FileRefused(N_("Only the ofac-sdn list has an aliases file."))
    if list_format is ListFormat.pdn_s3:
        return lambda binary: read_pdn_s3(binary, today=today)
    if list_format is ListFormat.sat_69b:
        return lambda binary: read_sat_69b(binary, today=today)
    return lambda binary: read_csv_list(binary, today=today)


def entry_json(entry: ListedEntry) -> str:
    """What identifies an entry's content: unchanged in a newer file means the same entry."""
    data = {k: v for k, v in entry.__dict__.items() if k != "birth_years"}
    return json.dumps(data, ensure_ascii=False, sort_keys=True, default=str)


def listed(entry: ListedEntry | SanctionEntry, key: Any) -> Listed:
    """An entry as the matcher sees it."""
    if isinstance(entry, SanctionEntry):
        aliases = json.loads(entry.aliases or "[]")
        years = (
            (entry.birth_year_from, entry.birth_year_to)
            if entry.birth_year_from is not None and entry.birth_year_to is not None
            else None
        )
    else:
        aliases = entry.aliases
        years = entry.birth_years
    return Listed(
        key=key,
        names=(entry.name, *aliases),
        organisation=entry.entry_type is EntryType.organisation,
        rfc=entry.rfc,
        curp=entry.curp,
        birth_years=years,
        gender=entry.gender,
    )
