"""Importing registry lists in the formats their publishers use: what is stored, what a newer
file changes (older versions kept), and bad files refused whole with the line and field."""

import io
import json
from datetime import date
from pathlib import Path
from typing import IO

import pytest
from sqlmodel import Session, col, func, select

from app.config import Settings
from app.models import (
    AuditEvent,
    EntryType,
    ListFormat,
    SanctionEntry,
    SanctionListVersion,
    SanctionNameKey,
    SanctionSource,
    utcnow,
)
from app.services.candidates.sanctions.formats import FileRefused, read_sat_69b
from app.services.candidates.sanctions.importers import import_list
from app.services.candidates.sanctions.screening import has_entries

FIXTURES = Path(__file__).parent / "fixtures" / "sanctions"


def load(
    session: Session,
    settings: Settings,
    list_format: str,
    content: bytes | str | Path,
    *,
    aliases: bytes | Path | None = None,
    name: str | None = None,
    file_name: str = "list",
):  # type: ignore[no-untyped-def]
    def stream(value: bytes | str | Path) -> IO[bytes]:
        if isinstance(value, Path):
            return io.BytesIO(value.read_bytes())
        return io.BytesIO(value.encode() if isinstance(value, str) else value)

    summary = import_list(
        session,
        list_format=ListFormat(list_format),
        file=stream(content),
        file_name=content.name if isinstance(content, Path) else file_name,
        aliases=stream(aliases) if aliases is not None else None,
        aliases_file_name="ALT.CSV" if aliases is not None else "",
        name=name,
        actor=None,
        settings=settings,
        now=utcnow(),
    )
    session.commit()
    return summary


def current(session: Session, source: str) -> dict[str, SanctionEntry]:
    rows = session.exec(
        select(SanctionEntry)
        .join(SanctionSource, col(SanctionSource.id) == SanctionEntry.source_id)
        .where(SanctionSource.name == source, col(SanctionEntry.removed_version_id).is_(None))
    ).all()
    return {row.external_id: row for row in rows}


def counts(session: Session) -> tuple[int, int, int, int]:
    session.rollback()
    return (
        session.exec(select(func.count()).select_from(SanctionSource)).one(),
        session.exec(select(func.count()).select_from(SanctionListVersion)).one(),
        session.exec(select(func.count()).select_from(SanctionEntry)).one(),
        session.exec(select(func.count()).select_from(SanctionNameKey)).one(),
    )


def test_import_ofac_sdn_with_aliases_keeps_what_a_reviewer_needs(
    session: Session, settings: Settings
) -> None:
    summary = load(
        session, settings, "ofac-sdn", FIXTURES / "SDN.CSV", aliases=FIXTURES / "ALT.CSV"
    )

    entries = current(session, "OFAC SDN")
    assert (summary.result.added, summary.result.changed, summary.result.removed) == (6, 0, 0)
    rogelio = entries["1001"]
    assert rogelio.name == "ZAMBRANO VILLASENOR, Rogelio Esteban"
    assert rogelio.entry_type is EntryType.person
    assert json.loads(rogelio.aliases) == ["ZAMBRANO, Rogelio"]
    assert rogelio.curp == "ZAVR710312HJCMLG05"
    assert rogelio.rfc == "ZAVR710312QW4"
    assert (rogelio.birth_date, rogelio.birth_year_from, rogelio.gender) == (
        "12 Mar 1971",
        1971,
        "M",
    )
    assert rogelio.program == "SDNTK"
    assert "EL ROJO" in rogelio.remarks
    assert rogelio.url.endswith("id=1001")
    assert entries["1004"].entry_type is EntryType.organisation
    assert entries["1005"].entry_type is EntryType.other
    assert json.loads(entries["1002"].aliases) == ["TREVINO SALAS, Griselda"]
    version = session.exec(select(SanctionListVersion)).one()
    assert version.file_name == "SDN.CSV"
    assert version.aliases_file_name == "ALT.CSV"
    assert len(version.sha256) == 64 and len(version.aliases_sha256) == 64
    assert version.imported_by == "command line"
    assert version.entry_count == 6


def test_import_pdn_s3_object_with_results_and_bare_list(
    session: Session, settings: Settings
) -> None:
    load(session, settings, "pdn-s3", FIXTURES / "pdn_s3.json")
    entries = current(session, "PDN servidores públicos sancionados")
    luz = entries["PDN-0001"]
    assert luz.name == "Luz Elena Paredes Ontiveros"
    assert (luz.rfc, luz.curp, luz.gender) == ("PAOL790214TT2", "PAOL790214MCHRNZ08", "F")
    assert luz.birth_date == "1979-02-14"
    assert luz.position == "Directora de Adquisiciones"
    assert luz.institution == "Secretaría de Obras Públicas del Estado de Demostración"
    assert luz.sanction_type == "INHABILITADO; SANCIÓN ECONÓMICA"
    assert "2029-11-05" in luz.dates and "2024-11-05" in luz.dates
    assert "EXP-2024-118" in luz.remarks
    assert luz.url == "https://example.org/resoluciones/exp-2024-118.pdf"
    assert entries["PDN-0002"].name == "Ernesto Villalobos Ruiz"

    summary = load(session, settings, "pdn-s3", FIXTURES / "pdn_s3_list.json")
    assert (summary.result.added, summary.result.changed, summary.result.removed) == (0, 0, 1)


def test_import_sat_69b_finds_the_header_row_and_reads_latin_1(
    session: Session, settings: Settings
) -> None:
    load(session, settings, "sat-69b", FIXTURES / "sat_69b.csv")

    entries = current(session, "SAT 69-B")
    assert set(entries) == {"SAMJ800101AB1", "CSD100101AB2", "MUAR750620CD3"}
    rosalba = entries["MUAR750620CD3"]
    assert rosalba.name == "MUÑOZ ÁVILA ROSALBA"
    assert rosalba.entry_type is EntryType.person
    assert rosalba.birth_year_from == 1975
    assert rosalba.sanction_type == "Definitivo"
    assert "Publicación página SAT definitivos: 09/09/2020" in rosalba.dates
    assert entries["CSD100101AB2"].entry_type is EntryType.organisation


def test_import_csv_list_with_aliases_named_by_staff(session: Session, settings: Settings) -> None:
    load(session, settings, "csv", FIXTURES / "state_list.csv", name="Registro estatal de Demo")

    entries = current(session, "Registro estatal de Demo")
    ramiro = entries["EST-1"]
    assert json.loads(ramiro.aliases) == ["Ramiro Garza", "El Ingeniero"]
    assert ramiro.url == "https://example.org/estado/est-1"
    assert entries["EST-2"].entry_type is EntryType.organisation


def test_reimport_says_what_changed_and_keeps_older_versions(
    session: Session, settings: Settings
) -> None:
    first = "name,id,remarks\nAna Uno,1,a\nBeto Domínguez,2,b\nCarla Tres,3,c\n"
    second = "name,id,remarks\nAna Uno,1,a\nBeto Domínguez,2,changed\nDiego Cuatro,4,d\n"
    load(session, settings, "csv", first, name="Lista")
    before = current(session, "Lista")

    summary = load(session, settings, "csv", second, name="Lista")

    assert (summary.result.added, summary.result.changed, summary.result.removed) == (1, 1, 1)
    after = current(session, "Lista")
    assert set(after) == {"1", "2", "4"}
    assert after["1"].id == before["1"].id  # unchanged: the same row
    assert after["2"].id != before["2"].id
    old_beto = session.get(SanctionEntry, before["2"].id)
    old_carla = session.get(SanctionEntry, before["3"].id)
    assert old_beto is not None and old_beto.remarks == "b"
    assert old_carla is not None and old_carla.removed_version_id == summary.result.version.id
    versions = session.exec(select(SanctionListVersion).order_by(col(SanctionListVersion.id))).all()
    assert [(v.added, v.changed, v.removed, v.entry_count) for v in versions] == [
        (3, 0, 0, 3),
        (1, 1, 1, 3),
    ]
    # Only current entries are looked up by key.
    keyed = set(session.exec(select(SanctionNameKey.entry_id)).all())
    assert keyed == {after[k].id for k in after}
    events = session.exec(select(AuditEvent).where(AuditEvent.action == "sanctions.import")).all()
    assert len(events) == 2
    assert json.loads(events[1].after)["removed"] == 1


BAD_FILES = [
    (
        "ofac-sdn",
        b'1,"ONE, Person","individual","SDGT",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n'
        b'X2,"TWO, Person","individual","SDGT",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n',
        "Line 2: ent_num should be a number",
    ),
    (
        "ofac-sdn",
        b'1,"ONE, Person","individual","SDGT",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n'
        b'2,-0- ,"individual","SDGT",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n',
        "Line 2: SDN_Name is empty",
    ),
    ("ofac-sdn", b'1,"ONE, Person","individual"\r\n', "Line 1: 3 columns where 12"),
    (
        "pdn-s3",
        json.dumps(
            [
                {"id": "a", "servidorPublicoSancionado": {"nombres": "Ana", "primerApellido": "B"}},
                {"id": "b", "servidorPublicoSancionado": {"nombres": "Luis"}},
            ]
        ).encode(),
        "Record 2: servidorPublicoSancionado.primerApellido is missing",
    ),
    ("pdn-s3", b'[{"id": "a", "servidorPublicoSancionado": {"nombres": ', "Record 1: the JSON"),
    ("pdn-s3", b"nombres,primerApellido\n", "The file is not JSON"),
    ("sat-69b", b"Listado,,\nNo,Nombre,Situacion\n1,ABC,Definitivo\n", "No header row"),
    (
        "sat-69b",
        "Título\nNo,RFC,Nombre del Contribuyente\n1,AAA010101AA1,EMPRESA\n2,NOTANRFC,OTRA\n".encode(
            "cp1252"
        ),
        "Line 4: RFC “NOTANRFC” is not an RFC",
    ),
    ("csv", b"nombre,id\nAna,1\n", "No header row with the columns name"),
    ("csv", b"name,type\nAna,person\nBeto,alien\n", "Line 3: type “alien”"),
    ("csv", b"name,id\nAna,1\nBeto,1\n", "Line 3: id 1 appears twice"),
    ("csv", b"name,id\n", "The file holds no entries"),
]


@pytest.mark.parametrize(("list_format", "content", "message"), BAD_FILES)
def test_import_bad_file_is_refused_whole_naming_line_and_field(
    session: Session, settings: Settings, list_format: str, content: bytes, message: str
) -> None:
    load(session, settings, "csv", "name,id\nYa Estaba,1\n", name="Otra lista")
    before = counts(session)

    with pytest.raises(FileRefused) as refused:
        load(session, settings, list_format, content)
    session.rollback()

    error = refused.value
    assert message in error.message % error.params
    assert counts(session) == before


def test_import_same_name_in_another_format_is_refused(
    session: Session, settings: Settings
) -> None:
    load(session, settings, "csv", "name\nAna\n", name="SAT 69-B")
    with pytest.raises(FileRefused):
        load(session, settings, "sat-69b", FIXTURES / "sat_69b.csv")


def test_import_reader_streams_instead_of_reading_the_file_whole() -> None:
    header = "Título\nNo,RFC,Nombre del Contribuyente,Situación del contribuyente\n"
    rows = "".join(f"{i},,PERSONA NUMERO {i} DEMO,Presunto\n" for i in range(200_000))
    data = (header + rows).encode("cp1252")

    class Counting(io.BytesIO):
        read_bytes = 0

        def read(self, size: int | None = -1) -> bytes:
            chunk = super().read(size)
            self.read_bytes += len(chunk)
            return chunk

        def read1(self, size: int = -1) -> bytes:
            chunk = super().read1(size)
            self.read_bytes += len(chunk)
            return chunk

        def readinto(self, buffer):  # type: ignore[no-untyped-def, override]
            n = super().readinto(buffer)
            self.read_bytes += n
            return n

    stream = Counting(data)
    entries = read_sat_69b(stream, today=date(2026, 1, 1))
    first = next(entries)

    assert first.name == "PERSONA NUMERO 0 DEMO"
    assert stream.read_bytes < len(data) // 10


def test_has_entries_is_false_without_lists(session: Session) -> None:
    assert has_entries(session) is False
