"""Build workbook_template.xlsm from source, the same bytes on every build.

Rebuild after editing sheets.py, ribbon.xml or AchieveIt.bas, or after changing the pinned
xlwings version (its VBA module is embedded):

    python -m addin.template build                  # writes <repo>/workbook_template.xlsm
    python -m addin.template build --output x.xlsm

How (without Excel: every step is checked by tests/test_template.py with other readers):
1. openpyxl writes the sheets (sheets.py), each with an explicit codeName.
2. pyOpenVBA gives the package a VBA project as Excel makes one (a document module per
   codeName), then adds the standard modules `xlwings` (xlwings.bas of the installed xlwings,
   standalone mode) and `AchieveIt`, the class `Dictionary` (xlwings uses it on Mac) in the
   stream form Excel writes, and the Office type library reference (IRibbonControl).
3. The zip is assembled here: macro-enabled content type, customUI14 ribbon and its package
   relationship, fixed docProps, fixed timestamps and a fixed part order.
"""

from __future__ import annotations

import io
import re
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

import xlwings

from addin import model
from addin.template.sheets import XLWINGS_CONF, build_workbook
from addin.template.version import TEMPLATE_VERSION
from addin.template.wiring import wiring_problems

HERE = Path(__file__).resolve().parent
DEFAULT_OUTPUT = HERE.parent.parent / "workbook_template.xlsm"
RIBBON_XML = HERE / "ribbon.xml"
ACHIEVEIT_BAS = HERE / "AchieveIt.bas"
XLWINGS_DIR = Path(xlwings.__file__).resolve().parent
XLWINGS_BAS = XLWINGS_DIR / "xlwings.bas"
DICTIONARY_CLS = XLWINGS_DIR / "addin" / "Dictionary.cls"

# The functions of addin/ribbon.py that the VBA module calls (ARCHITECTURE.md).
RIBBON_FUNCTIONS: tuple[str, ...] = (
    "validate",
    "clear_results",
    "submit",
    "refresh_status",
    "export_csv",
    "get_plan_items",
    "set_api_key",
    "open_settings",
)

MACRO_MAIN = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
XLSX_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
VBA_CONTENT = "application/vnd.ms-office.vbaProject"
VBA_REL = "http://schemas.microsoft.com/office/2006/relationships/vbaProject"
UI_REL = "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility"
UI_NS = "http://schemas.microsoft.com/office/2009/07/customui"
CUSTOM_UI_PART = "customUI/customUI14.xml"

# The Office type library exactly as Excel 16 declared it in xlwings' quickstart_standalone.xlsm.
OFFICE_GUID = "{2DF8D04C-5BFA-101B-BDE5-00AA0044DE52}"
OFFICE_PATH = r"C:\Program Files\Common Files\Microsoft Shared\OFFICE16\MSO.DLL"
OFFICE_DESCRIPTION = "Microsoft Office 16.0 Object Library"

# The header Excel writes in a class module's stream (as in xlwings' quickstart_standalone.xlsm).
CLASS_BASE = "0{FCFB3D2A-A0FA-1068-A738-08002B3371B5}"
_CLASS_ATTRIBUTES = (
    ("VB_Name", ""),  # required: checked below
    ("VB_Base", f'"{CLASS_BASE}"'),
    ("VB_GlobalNameSpace", "False"),
    ("VB_Creatable", "False"),
    ("VB_PredeclaredId", "False"),
    ("VB_Exposed", "False"),
    ("VB_TemplateDerived", "False"),
    ("VB_Customizable", "False"),
)

FIXED_TIME = (2026, 1, 1, 0, 0, 0)  # zip entry timestamps
FIXED_W3CDTF = "2026-01-01T00:00:00Z"  # docProps created/modified
CORE_XML = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/'
    'core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" '
    'xmlns:dcterms="http://purl.org/dc/terms/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
    "<dc:title>AchieveIt Progress Updates</dc:title>"
    "<dc:creator>AchieveIt Progress Updates</dc:creator>"
    f'<dcterms:created xsi:type="dcterms:W3CDTF">{FIXED_W3CDTF}</dcterms:created>'
    f'<dcterms:modified xsi:type="dcterms:W3CDTF">{FIXED_W3CDTF}</dcterms:modified>'
    "</cp:coreProperties>"
)
APP_XML = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
    "<Application>Microsoft Excel</Application></Properties>"
)


def crlf(text: str) -> str:
    """VBA keeps CRLF line ends; sources may arrive with either."""
    return "\r\n".join(text.splitlines()) + "\r\n"


def class_stream_source(export_text: str) -> str:
    """A class module in the stream form Excel writes, from the `.cls` export form.

    The export form starts with `VERSION 1.0 CLASS / BEGIN ... END` and lacks `VB_Base`,
    `VB_TemplateDerived` and `VB_Customizable`; written into a stream as is, the class does
    not compile. Excel's order of attributes is kept; extra ones (VB_Description) follow.
    """
    lines = export_text.splitlines()
    if lines and lines[0].startswith("VERSION ") and "CLASS" in lines[0]:
        lines = lines[lines.index("END") + 1 :]
    attributes: dict[str, str] = {}
    while lines and lines[0].startswith("Attribute "):
        key, _, value = lines.pop(0)[len("Attribute ") :].partition(" = ")
        attributes[key] = value
    if "VB_Name" not in attributes:
        raise ValueError("a class module needs an Attribute VB_Name line")
    header = []
    for key, default in _CLASS_ATTRIBUTES:
        value = attributes.pop(key, default)
        header.append(f"Attribute {key} = {value}")
    header += [f"Attribute {key} = {value}" for key, value in attributes.items()]
    return crlf("\n".join(header + lines))


def vba_modules() -> dict[str, tuple[str, str]]:
    """Module name -> (kind, source) of the modules the build adds beside the document ones.

    `workbook upgrade` puts exactly these into a team copy, in place of older ones.
    """
    return {
        "xlwings": ("standard", crlf(XLWINGS_BAS.read_text(encoding="utf-8"))),
        "AchieveIt": ("standard", crlf(ACHIEVEIT_BAS.read_text(encoding="utf-8"))),
        "Dictionary": ("class", class_stream_source(DICTIONARY_CLS.read_text(encoding="utf-8"))),
    }


def _read_zip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _write_zip(parts: dict[str, bytes]) -> bytes:
    """Content types first, then the package relationships, then every part by name."""
    first = ["[Content_Types].xml", "_rels/.rels"]
    order = first + sorted(name for name in parts if name not in first)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in order:
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 0
            info.external_attr = 0
            archive.writestr(info, parts[name], compresslevel=6)
    return buffer.getvalue()


def _macro_enabled(content_types: bytes) -> bytes:
    text = content_types.decode("utf-8")
    if XLSX_MAIN not in text:
        raise RuntimeError("openpyxl wrote no workbook content type to replace")
    return text.replace(XLSX_MAIN, MACRO_MAIN).encode("utf-8")


def _with_ribbon(package_rels: bytes) -> bytes:
    text = package_rels.decode("utf-8")
    numbers = [int(n) for n in re.findall(r'Id="rId(\d+)"', text)]
    relationship = (
        f'<Relationship Id="rId{max(numbers, default=0) + 1}" Type="{UI_REL}" '
        f'Target="{CUSTOM_UI_PART}"/>'
    )
    return text.replace("</Relationships>", relationship + "</Relationships>", 1).encode("utf-8")


def _add_vba_project(xlsm: bytes) -> bytes:
    """The package with a VBA project holding our modules, made by pyOpenVBA."""
    from pyopenvba import ExcelFile, VBAModuleKind

    with tempfile.TemporaryDirectory() as folder:
        source, target = Path(folder) / "in.xlsm", Path(folder) / "out.xlsm"
        source.write_bytes(xlsm)
        with ExcelFile(source) as book:
            project = book.add_vba_project()
            for name, (kind, text) in vba_modules().items():
                module_kind = VBAModuleKind.standard if kind == "standard" else VBAModuleKind.other
                project.add_module(name, text, kind=module_kind)
            # Version 2.0 as Excel wrote it there; Excel binds the installed 2.x library.
            book.add_reference(
                "Office", OFFICE_GUID, 2, 0, path=OFFICE_PATH, description=OFFICE_DESCRIPTION
            )
            book.save(target)
        return target.read_bytes()


def check_sources() -> None:
    """Refuse to build buttons that lead nowhere, or that name another template version."""
    modules = {name: source for name, (_, source) in vba_modules().items()}
    problems = wiring_problems(RIBBON_XML.read_bytes(), modules, template=TEMPLATE_VERSION)
    if problems:
        raise RuntimeError("the template's sources disagree: " + "; ".join(problems))


def build_bytes(
    settings: model.Settings | None = None, conf: Sequence[tuple[str, str]] = XLWINGS_CONF
) -> bytes:
    """The template's bytes; with `settings` and `conf`, a copy filled in with them."""
    check_sources()
    buffer = io.BytesIO()
    build_workbook(settings or model.Settings(), conf).save(buffer)
    parts = _read_zip(buffer.getvalue())
    parts["[Content_Types].xml"] = _macro_enabled(parts["[Content_Types].xml"])
    parts = _read_zip(_add_vba_project(_write_zip(parts)))
    parts["_rels/.rels"] = _with_ribbon(parts["_rels/.rels"])
    parts[CUSTOM_UI_PART] = RIBBON_XML.read_bytes()
    parts["docProps/core.xml"] = CORE_XML.encode("utf-8")
    parts["docProps/app.xml"] = APP_XML.encode("utf-8")
    return _write_zip(parts)


def build(output: Path) -> None:
    """Write the template to `output` (replaced whole, never left half-written)."""
    data = build_bytes()
    output = Path(output)
    partial = output.with_name(output.name + ".partial")
    partial.write_bytes(data)
    partial.replace(output)
