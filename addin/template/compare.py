"""Compare two built templates by the parts that matter, for "the committed file is current".

Byte equality is too strict across library versions (openpyxl's styles.xml, zlib), and too
quiet when it fails. This reads both files with independent readers (zipfile + ElementTree,
openpyxl, oletools' olevba) and names each difference.
"""

from __future__ import annotations

import io
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from openpyxl import load_workbook
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

# XML parts compared whole after canonicalisation; sheets and the VBA project are compared
# cell by cell and module by module below.
VBA_PART = "xl/vbaProject.bin"
XML_PARTS = ("[Content_Types].xml", "customUI/customUI14.xml", "xl/workbook.xml")


def _parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _canonical(data: bytes) -> str:
    """XML with comments, whitespace between elements and attribute order ignored; children
    sorted, because part order inside content types and relationships carries no meaning."""

    def normal(element: ElementTree.Element) -> ElementTree.Element:
        copy = ElementTree.Element(element.tag, dict(sorted(element.attrib.items())))
        copy.text = (element.text or "").strip() or None
        children = [normal(child) for child in element]
        copy.extend(sorted(children, key=lambda child: ElementTree.tostring(child)))
        return copy

    parser = ElementTree.XMLParser(target=ElementTree.TreeBuilder(insert_comments=False))
    root = ElementTree.fromstring(data, parser=parser)
    return ElementTree.tostring(normal(root), encoding="unicode")


def _olevba() -> Any:
    """oletools.olevba, imported with its dependencies' deprecation warnings silenced: that
    noise is not ours to fail on (pytest runs with warnings as errors)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from oletools import olevba
    return olevba


def vba_sources(data: bytes) -> dict[str, str]:
    """Module name -> decompressed source (CRLF made LF), read by oletools' olevba."""
    olevba = _olevba()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parser = olevba.VBA_Parser("template.xlsm", data=data)
        try:
            found = {
                Path(filename).stem: code.replace("\r\n", "\n")
                for _, _, filename, code in parser.extract_macros()
            }
        finally:
            parser.close()
    return found


def vba_references(data: bytes) -> list[str]:
    """The libids of the registered type libraries the project references ([MS-OVBA] 2.3.4.2),
    read from the decompressed `VBA/dir` stream with olefile and olevba's decompressor."""
    import olefile

    with olefile.OleFileIO(io.BytesIO(data)) as ole:
        raw = bytes(_olevba().decompress_stream(bytearray(ole.openstream("VBA/dir").read())))
    libids, pos = [], 0
    while pos + 6 <= len(raw):
        rid = int.from_bytes(raw[pos : pos + 2], "little")
        size = int.from_bytes(raw[pos + 2 : pos + 6], "little")
        if rid == 0x000F:  # PROJECTMODULES: the references are over
            break
        body = raw[pos + 6 : pos + 6 + size]
        if rid == 0x000D:  # REFERENCEREGISTERED: SizeOfLibid, Libid, 6 reserved bytes
            length = int.from_bytes(body[:4], "little")
            libids.append(body[4 : 4 + length].decode("latin-1"))
        pos += 12 if rid == 0x0009 else 6 + size  # PROJECTVERSION's size field lies (always 4)
    return libids


def _module_diff(a: dict[str, str], b: dict[str, str]) -> list[str]:
    problems = []
    for name in sorted(a.keys() | b.keys()):
        if name not in a or name not in b:
            problems.append(f"VBA module {name} is in only one file")
        elif a[name] != b[name]:
            lines_a, lines_b = a[name].split("\n"), b[name].split("\n")
            at = next(
                (
                    i
                    for i, pair in enumerate(zip(lines_a, lines_b, strict=False))
                    if pair[0] != pair[1]
                ),
                min(len(lines_a), len(lines_b)),
            )
            problems.append(f"VBA module {name} differs from line {at + 1}")
    return problems


def _cell_facts(ws: Worksheet) -> Iterator[tuple[str, Any]]:
    for row in ws.iter_rows():
        for cell in row:
            if cell.value is None and not cell.has_style:
                continue
            yield (
                cell.coordinate,
                (
                    cell.value,
                    cell.number_format,
                    bool(cell.font.bold),
                    (cell.font.name, cell.font.sz),
                    cell.fill.fgColor.rgb if cell.fill.fill_type else None,
                    bool(cell.alignment.wrap_text),
                ),
            )


def _color(color: Any) -> str | None:
    return getattr(color, "rgb", None) if color is not None else None


def _rule_facts(rule: Any) -> tuple[Any, ...]:
    """What a conditional-format rule tests and what it shows (its differential style)."""
    dxf = rule.dxf
    fill = dxf.fill if dxf is not None else None
    font = dxf.font if dxf is not None else None
    return (
        rule.type,
        list(rule.formula),
        bool(rule.stopIfTrue),
        _color(fill.bgColor) if fill is not None else None,
        _color(fill.fgColor) if fill is not None else None,
        _color(font.color) if font is not None else None,
    )


def _sheet_facts(ws: Worksheet) -> dict[str, Any]:
    facts: dict[str, Any] = dict(_cell_facts(ws))
    facts["state"] = ws.sheet_state
    facts["codeName"] = ws.sheet_properties.codeName
    facts["freeze_panes"] = ws.freeze_panes
    for letter, dim in sorted(ws.column_dimensions.items()):
        facts[f"column {letter}"] = (
            dim.width,
            dim.number_format,
            bool(dim.alignment.wrap_text),
            bool(dim.hidden),
        )
    for formatting in ws.conditional_formatting:
        for rule in formatting.rules:
            facts[f"conditional format {formatting.sqref} priority {rule.priority}"] = _rule_facts(
                rule
            )
    for validation in ws.data_validations.dataValidation:
        facts[f"validation {validation.sqref}"] = (
            validation.type,
            validation.formula1,
            validation.errorStyle,
            validation.errorTitle,
            validation.error,
            validation.promptTitle,
            validation.prompt,
        )
    for table in ws.tables.values():
        style = table.tableStyleInfo.name if table.tableStyleInfo else None
        facts[f"table {table.displayName}"] = (
            table.ref,
            style,
            [c.name for c in table.tableColumns],
        )
    return facts


def _workbook_facts(data: bytes) -> dict[str, Any]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            wb: Workbook = load_workbook(io.BytesIO(data), keep_vba=False)
    except Exception as exc:  # a broken file is a difference to report, not a crash
        return {"opens in openpyxl": f"no: {exc}"}
    facts: dict[str, Any] = {
        "sheet order": wb.sheetnames,
        "active sheet": wb.active.title if wb.active else None,
        "workbook codeName": wb.code_name,
    }
    for name, defined in sorted(wb.defined_names.items()):
        facts[f"defined name {name}"] = defined.attr_text
    for ws in wb.worksheets:
        for key, value in _sheet_facts(ws).items():
            facts[f"{ws.title}!{key}"] = value
    return facts


def _diff(label: str, a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    return [
        f"{label} {key}: {a.get(key, '(missing)')!r} != {b.get(key, '(missing)')!r}"
        for key in sorted(a.keys() | b.keys())
        if a.get(key) != b.get(key)
    ]


def compare_templates(a: Path, b: Path) -> list[str]:
    """The differences between two templates, one line each; [] when they match."""
    parts_a, parts_b = _parts(Path(a)), _parts(Path(b))
    problems: list[str] = []
    only = sorted(parts_a.keys() ^ parts_b.keys())
    problems += [f"part {name} is in only one file" for name in only]

    rels = sorted(name for name in parts_a.keys() & parts_b.keys() if name.endswith(".rels"))
    for name in (*XML_PARTS, *rels):
        both = name in parts_a and name in parts_b
        if both and _canonical(parts_a[name]) != _canonical(parts_b[name]):
            problems.append(f"part {name} differs")

    project_a, project_b = parts_a.get(VBA_PART), parts_b.get(VBA_PART)
    if project_a is not None and project_b is not None:
        problems += _module_diff(vba_sources(project_a), vba_sources(project_b))
        if vba_references(project_a) != vba_references(project_b):
            problems.append("VBA references differ")
    problems += _diff(
        "workbook", _workbook_facts(Path(a).read_bytes()), _workbook_facts(Path(b).read_bytes())
    )
    return problems
