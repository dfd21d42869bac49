"""Who the demo's current edition is about: fictional public servants, their nominators, what
staff decide about each, and how the judges see the finalists. Every person here is invented;
each name carries "(ficticia)" or "(ficticio)", as in the past edition.

The plan is data, read in order by app/services/demo/edition.py; changing it changes the demo.
"""

from dataclasses import dataclass, field
from enum import StrEnum

from app.models import GovernmentLevel, Relationship


class Fate(StrEnum):
    """What becomes of a person's nominations."""

    finalist = "finalist"  # eligible, vetted and cleared, chosen as a finalist
    flagged = "flagged"  # eligible, vetted, flagged by a check
    vetting = "vetting"  # eligible, vetting started and not finished
    candidate = "candidate"  # eligible, grouped, not shortlisted
    ineligible = "ineligible"
    withdrawn = "withdrawn"


@dataclass(frozen=True)
class Person:
    theme: str
    name: str
    woman: bool
    position: str
    institution: str
    state: str
    level: GovernmentLevel
    age: int
    years: int
    fate: Fate
    # For `ineligible` and `withdrawn`: the reason staff write down.
    reason: str = ""
    # The person's first nomination stays undecided in the screening stage (staff's next work).
    late: bool = False
    # A finalist's strength as the judges see it (about 3 to 4.6 on the 1-5 scale).
    strength: float = 0.0
    citation_es: str = ""
    citation_en: str = ""
    # Names other nominators wrote for the same person (accents missing, a name dropped…).
    variants: tuple[str, ...] = field(default_factory=tuple)
    # More nominators who wrote the name as it is.
    more: int = 0


def _f(name: str) -> str:
    return f"{name} (ficticia)"


def _m(name: str) -> str:
    return f"{name} (ficticio)"


Y, S = "youth", "sustainability"
M, ST, F = GovernmentLevel.municipal, GovernmentLevel.state, GovernmentLevel.federal
A, J, L = GovernmentLevel.autonomous, GovernmentLevel.judicial, GovernmentLevel.legislative

PEOPLE: tuple[Person, ...] = (
    # -- youth: five finalists ---------------------------------------------------------------
    Person(Y, _f("Itzel Ramírez Solís"), True, "Coordinadora de Transparencia",
           "Ayuntamiento de Oaxaca de Juárez", "OAX", M, 29, 6, Fate.finalist, more=1, strength=4.6,
           citation_es="Publicó en línea cada contrato de obra del municipio y enseñó a los"
           " vecinos a leerlos.",
           citation_en="She put every public-works contract of the municipality online and"
           " taught neighbours to read them.",
           variants=("Itzel Ramirez Solis (ficticia)", "Itzel Ramírez (ficticia)")),
    Person(Y, _m("Bruno Castañeda Ortiz"), False, "Analista de Compras",
           "Secretaría de Salud de Jalisco", "JAL", ST, 31, 7, Fate.finalist, more=1, strength=4.3,
           citation_es="Rechazó una compra de medicamentos con sobreprecio y documentó el caso"
           " ante la contraloría.",
           citation_en="He refused an overpriced purchase of medicines and documented the case"
           " for the comptroller.",
           variants=("Bruno Castaneda Ortiz (ficticio)",)),
    Person(Y, _f("Camila Herrera Vázquez"), True, "Jefa de Departamento de Licitaciones",
           "Ayuntamiento de Mérida", "YUC", M, 33, 9, Fate.finalist, strength=4.0,
           citation_es="Abrió las licitaciones del municipio a proveedores locales y terminó"
           " con los contratos a modo.",
           citation_en="She opened the city's tenders to local suppliers and ended tailor-made"
           " contracts.",
           variants=("Camila Herrera V. (ficticia)",)),
    Person(Y, _m("Diego Mendoza Ruiz"), False, "Auditor",
           "Contraloría del Estado de Sonora", "SON", ST, 28, 4, Fate.finalist, more=1,
           strength=3.7,
           citation_es="Su auditoría a la nómina estatal encontró 300 plazas de personas que"
           " no existían.",
           citation_en="His audit of the state payroll found 300 posts held by people who did"
           " not exist."),
    Person(Y, _f("Fernanda Aguilar Pineda"), True, "Enlace de Datos Abiertos",
           "Instituto de Transparencia de Puebla", "PUE", A, 27, 3, Fate.finalist, more=1,
           strength=3.4,
           citation_es="Convirtió las solicitudes de información de su estado en datos abiertos"
           " que cualquiera puede consultar.",
           citation_en="She turned her state's information requests into open data anyone can"
           " search."),
    # -- youth: the rest --------------------------------------------------------------------
    Person(Y, _m("Gerardo Núñez Salas"), False, "Inspector de Obra Pública",
           "Ayuntamiento de Toluca", "MEX", M, 34, 10, Fate.flagged,
           variants=("Gerardo Nunez Salas (ficticio)",)),
    Person(Y, _f("Helena Ríos Cabrera"), True, "Médica Residente",
           "Hospital General de Culiacán", "SIN", ST, 30, 5, Fate.vetting, more=1),
    Person(Y, _m("Iván Torres Lozano"), False, "Asesor Jurídico",
           "Congreso del Estado de Nuevo León", "NLE", L, 32, 8, Fate.candidate,
           variants=("José Iván Torres Lozano (ficticio)",)),
    Person(Y, _f("Jimena Paredes Ochoa"), True, "Técnica en Atención Ciudadana",
           "Ayuntamiento de Tuxtla Gutiérrez", "CHP", M, 25, 2, Fate.candidate),
    Person(Y, _m("Kevin Salgado Mora"), False, "Analista de Presupuesto",
           "Secretaría de Finanzas de Zacatecas", "ZAC", ST, 29, 5, Fate.candidate),
    Person(Y, _f("Lorena Cisneros Beltrán"), True, "Subdirectora de Padrones",
           "Secretaría de Bienestar de Guanajuato", "GUA", ST, 35, 11, Fate.candidate),
    Person(Y, _m("Mateo Villalobos Reyna"), False, "Auxiliar Administrativo",
           "Poder Judicial de Chihuahua", "CHH", J, 26, 3, Fate.candidate, late=True),
    Person(Y, _f("Natalia Ibarra Fuentes"), True, "Defensora Pública",
           "Defensoría Pública de Morelos", "MOR", ST, 31, 6, Fate.candidate, late=True),
    Person(Y, _m("Omar Guzmán Trejo"), False, "Jefe de Oficina de Catastro",
           "Ayuntamiento de Pachuca", "HID", M, 33, 9, Fate.candidate),
    Person(Y, _f("Paola Medina Arce"), True, "Coordinadora de Juventud",
           "Instituto de la Juventud de Tlaxcala", "TLA", ST, 24, 2, Fate.candidate,
           late=True),
    Person(Y, _m("Rafael Domínguez Lira"), False, "Ministerio Público",
           "Fiscalía del Estado de Guerrero", "GRO", J, 34, 8, Fate.candidate),
    Person(Y, _f("Sofía Navarro Uribe"), True, "Profesora de Secundaria",
           "Secretaría de Educación de Colima", "COL", ST, 28, 6, Fate.candidate),
    Person(Y, _m("Tadeo Carrillo Benítez"), False, "Regidor",
           "Ayuntamiento de Campeche", "CAM", M, 33, 2, Fate.ineligible,
           reason="Ocupa un cargo de elección popular, que las reglas de la convocatoria"
           " excluyen."),
    Person(Y, _f("Úrsula Montes Vega"), True, "Consultora",
           "Despacho privado en Querétaro", "QUE", ST, 30, 0, Fate.ineligible,
           reason="Trabaja en el sector privado desde hace dos años."),
    Person(Y, _m("Valentín Rojas Peña"), False, "Director de Área",
           "Secretaría de Economía (Ciudad de México)", "CMX", F, 34, 15, Fate.ineligible,
           reason="Según su registro público tiene 41 años, no 34; la categoría Jóvenes es"
           " para personas de 35 años o menos."),
    Person(Y, _f("Wendy Zamora Gil"), True, "Analista de Planeación",
           "Ayuntamiento de Aguascalientes", "AGU", M, 27, 4, Fate.withdrawn,
           reason="La persona que nominó pidió retirar la nominación."),
    Person(Y, _m("Xavier Luna Cortés"), False, "Inspector Sanitario",
           "Comisión para la Protección contra Riesgos Sanitarios de Durango", "DUR", ST, 32,
           7, Fate.ineligible, late=True,
           reason="La nominación no describe ninguna acción concreta."),
    # -- sustainability: five finalists -----------------------------------------------------
    Person(S, _f("Rosa Montiel Herrera"), True, "Inspectora Ambiental",
           "Procuraduría Ambiental de Veracruz", "VER", ST, 44, 16, Fate.finalist, more=1,
           strength=4.5,
           citation_es="Clausuró una descarga ilegal al río pese a las presiones y publicó sus"
           " inspecciones.",
           citation_en="She shut down an illegal discharge into the river despite pressure and"
           " published her inspections.",
           variants=("Rosa Montiel (ficticia)", "Rosa Montiel H. (ficticia)")),
    Person(S, _m("Tomás Fierro Lara"), False, "Director de Agua Potable",
           "Organismo de Agua de Hermosillo", "SON", M, 52, 22, Fate.finalist, strength=4.2,
           citation_es="Ordenó el padrón de usuarios del agua y terminó con los cobros a modo.",
           citation_en="He cleaned up the register of water users and ended arbitrary"
           " charges.",
           variants=("Tomas Fierro Lara (ficticio)",)),
    Person(S, _f("Elena Vidal Quiroz"), True, "Guardaparques",
           "Comisión Nacional de Áreas Naturales Protegidas (Yucatán)", "YUC", F, 38, 12,
           Fate.finalist, more=2, strength=3.9,
           citation_es="Documentó la tala ilegal en una reserva y acompañó a las comunidades en"
           " la denuncia.",
           citation_en="She documented illegal logging in a reserve and stood by the"
           " communities that reported it."),
    Person(S, _m("Hugo Cervantes Mejía"), False, "Jefe de Residuos Sólidos",
           "Ayuntamiento de Monterrey", "NLE", M, 47, 19, Fate.finalist, more=1, strength=3.6,
           citation_es="Terminó con el relleno sanitario clandestino que contaminaba un barrio"
           " entero.",
           citation_en="He closed the clandestine landfill that polluted a whole"
           " neighbourhood."),
    Person(S, _f("Alma Robles Estrada"), True, "Directora de Ecología",
           "Ayuntamiento de Morelia", "MIC", M, 41, 13, Fate.finalist, more=1, strength=3.3,
           citation_es="Negó permisos de construcción en zona protegida a pesar de las"
           " amenazas.",
           citation_en="She refused building permits in a protected area despite threats."),
    # -- sustainability: the rest -----------------------------------------------------------
    Person(S, _m("Joaquín Ponce Arriaga"), False, "Técnico Forestal",
           "Comisión Nacional Forestal (Durango)", "DUR", F, 36, 9, Fate.vetting, more=1),
    Person(S, _f("Karla Espinoza Ledesma"), True, "Supervisora de Descargas",
           "Comisión Estatal del Agua de Guanajuato", "GUA", ST, 39, 14, Fate.flagged),
    Person(S, _m("Leonardo Bravo Quintero"), False, "Responsable de Energía",
           "Universidad Autónoma de Baja California", "BCN", A, 45, 17, Fate.candidate,
           variants=("Leonardo Bravo Q. (ficticio)",)),
    Person(S, _f("Mónica Serrano Tapia"), True, "Coordinadora de Ordenamiento Territorial",
           "Secretaría de Desarrollo Urbano de Querétaro", "QUE", ST, 50, 24, Fate.candidate),
    Person(S, _m("Néstor Rangel Olvera"), False, "Biólogo de Campo",
           "Procuraduría Federal de Protección al Ambiente (Quintana Roo)", "ROO", F, 37, 10,
           Fate.candidate),
    Person(S, _f("Olga Figueroa Sandoval"), True, "Jefa de Protección Civil",
           "Ayuntamiento de Villahermosa", "TAB", M, 43, 15, Fate.candidate),
    Person(S, _m("Pablo Esquivel Nava"), False, "Subdirector de Impacto Ambiental",
           "Secretaría de Medio Ambiente de San Luis Potosí", "SLP", ST, 48, 20,
           Fate.candidate, late=True),
    Person(S, _f("Regina Alvarado Muñoz"), True, "Inspectora de Pesca",
           "Comisión Nacional de Acuacultura y Pesca (Baja California Sur)", "BCS", F, 35, 8,
           Fate.candidate),
    Person(S, _m("Saúl Becerra Islas"), False, "Director de Parques",
           "Ayuntamiento de Tepic", "NAY", M, 55, 25, Fate.candidate),
    Person(S, _f("Teresa Ocampo Villa"), True, "Analista de Calidad del Aire",
           "Secretaría del Medio Ambiente de la Ciudad de México", "CMX", ST, 33, 7,
           Fate.candidate, late=True),
    Person(S, _m("Ulises Garza Treviño"), False, "Inspector de Minas",
           "Secretaría de Economía (Coahuila)", "COA", F, 46, 18, Fate.candidate),
    Person(S, _f("Verónica Lugo Cárdenas"), True, "Jefa de Agua Potable",
           "Comisión de Agua de Tamaulipas", "TAM", ST, 40, 12, Fate.candidate),
    Person(S, _m("Wilfrido Solano Parra"), False, "Diputado Local",
           "Congreso del Estado de Tabasco", "TAB", L, 50, 6, Fate.ineligible,
           reason="Ocupa un cargo de elección popular, que las reglas de la convocatoria"
           " excluyen."),
    Person(S, _f("Yolanda Téllez Roldán"), True, "Directora de Ecología",
           "Ayuntamiento de Saltillo", "COA", M, 44, 10, Fate.ineligible,
           reason="Es una autonominación, que las reglas de la convocatoria no permiten."),
    Person(S, _m("Zacarías Ávila Meza"), False, "Gerente Ambiental",
           "Empresa minera privada en Zacatecas", "ZAC", ST, 51, 0, Fate.ineligible,
           reason="Trabaja en una empresa privada, no en el servicio público."),
    Person(S, _f("Aurora Pacheco Lemus"), True, "Técnica en Reciclaje",
           "Ayuntamiento de Xalapa", "VER", M, 29, 4, Fate.withdrawn, late=True,
           reason="La persona nominada pidió no participar este año."),
    Person(S, _m("Benito Olmos Aranda"), False, "Jefe de Vivero",
           "Secretaría de Desarrollo Rural de Michoacán", "MIC", ST, 58, 30, Fate.candidate,
           late=True),
)  # fmt: skip

# Pairs of (person, name variant) that an earlier screener grouped apart, as two candidates of
# one person: the demo's duplicates to merge. The first is merged in the vetting stage; the
# second stays for staff to merge (the candidates' page suggests it).
SEPARATE_VARIANTS = (
    ("Gerardo Nunez Salas (ficticio)", "vetting"),
    ("José Iván Torres Lozano (ficticio)", "never"),
    ("Leonardo Bravo Q. (ficticio)", "never"),
)

NOMINATORS = (
    ("Adriana", "Campos"), ("Alberto", "Juárez"), ("Beatriz", "Sosa"), ("Carlos", "Méndez"),
    ("Daniela", "Rosas"), ("Eduardo", "Peña"), ("Gabriela", "Mora"), ("Héctor", "Rivas"),
    ("Isabel", "Galindo"), ("Javier", "Acosta"), ("Leticia", "Barrera"), ("Manuel", "Ortega"),
    ("Norma", "Cruz"), ("Óscar", "Valdez"), ("Patricia", "Solís"), ("Ramón", "Maldonado"),
    ("Silvia", "Cordero"), ("Ulises", "Fajardo"), ("Verónica", "Rangel"), ("Arturo", "Zúñiga"),
)  # fmt: skip
RELATIONSHIPS = (
    Relationship.colleague, Relationship.citizen_served, Relationship.civil_society,
    Relationship.supervisor, Relationship.journalist, Relationship.team_member,
)  # fmt: skip

STORIES = {
    Y: (
        ("Detectó sobreprecios en una compra y detuvo la licitación antes de que se firmara.",
         "La contraloría revisó todas las compras del año y se ahorró casi un millón de pesos.",
         "Su jefe le retiró funciones durante tres meses."),
        ("Publicó en línea los padrones de beneficiarios y corrigió cientos de duplicados.",
         "Familias que llevaban años esperando recibieron el apoyo que les tocaba.",
         "Enfrentó una campaña de desprestigio en redes sociales."),
        ("Diseñó un sistema de citas que terminó con el cobro de «mordidas» en ventanilla.",
         "Otras oficinas del estado copiaron el sistema y las quejas bajaron a la mitad.",
         "Trabajó sin presupuesto y con un equipo de dos personas."),
        ("Explicó a las comunidades cómo leer el presupuesto y cómo pedir cuentas.",
         "Los vecinos presentaron sus primeras solicitudes de información y las ganaron.",
         "Recibió presiones para dejar de hacer talleres en horario de trabajo."),
    ),
    S: (
        ("Clausuró una descarga ilegal al río pese a las presiones de una empresa local.",
         "El río volvió a tener peces y la empresa pagó la multa completa.",
         "Recibió amenazas anónimas y tuvo que pedir medidas de protección."),
        ("Documentó la tala ilegal en un área natural y acompañó la denuncia.",
         "Se detuvo la tala y se abrió una investigación federal.",
         "Lo cambiaron de área dos veces y le retiraron el vehículo de trabajo."),
        ("Negó un permiso de construcción en zona protegida a pesar de las amenazas.",
         "El humedal sigue protegido y el municipio actualizó su reglamento.",
         "Sus propios compañeros la aislaron por no aceptar las prácticas de siempre."),
        ("Ordenó el padrón de usuarios del agua y terminó con los cobros a modo.",
         "El organismo recuperó ingresos y llevó agua a dos colonias que no la tenían.",
         "Enfrentó a líderes locales acostumbrados a cobrar por las conexiones."),
    ),
}  # fmt: skip
HOW_KNOWN = (
    "Trabajé en la misma oficina durante tres años.",
    "Soy vecina del municipio y vi su trabajo de cerca.",
    "La conocí como periodista al cubrir el caso.",
    "Fui su jefe directo durante la auditoría.",
    "Participo en una organización que acompañó la denuncia.",
    "Me atendió en ventanilla y luego seguí su trabajo.",
)

# The panel: the two demo judges (who can sign in), and three fictional colleagues invited by
# e-mail (their accounts have no password). (name, e-mail's local part, themes, locale)
EXTRA_JUDGES = (
    ("Lucía Jurado Ficticio (demo)", "judge3", (Y, S), "es"),
    ("Marco Evaluador Ficticio (demo)", "judge4", (Y,), "es"),
    ("Nadia Reviewer Fictional (demo)", "judge5", (S,), "en"),
)
# Declared conflicts: (judge's e-mail local part, finalist's name): each recuses its judge.
CONFLICTS = (
    ("judge2", _f("Camila Herrera Vázquez")),
    ("judge5", _m("Hugo Cervantes Mejía")),
)
