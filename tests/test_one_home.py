"""One home per idea (DESIGN.md "Layout"), checked by reading the source with `ast`: cases are
opened only by `compliance/cases.py`, and "the inspectors of a region" is defined once."""

import ast
import re

from tests.test_architecture import ROOT, relative, source_files

CASES_HOME = "compliance/cases.py"
INSPECTORS_HOME = "officials/selectors.py"
CASE_MODEL = "AccountabilityCase"
# Methods of a manager or queryset that add rows.
CREATING = {"create", "bulk_create", "get_or_create", "update_or_create"}
# A helper that writes the rows of the model it is handed (`insert_rows(AccountabilityCase, …)`).
WRITER = re.compile(r"insert|create|copy|bulk", re.I)
RAW_INSERT = re.compile(r"\b(INSERT\s+INTO|COPY)\s+\"?compliance_accountabilitycase\b", re.I)


def _parsed() -> list[tuple[str, ast.Module, str]]:
    return [
        (relative(path), ast.parse(text := path.read_text(), filename=str(path)), text)
        for path in source_files()
    ]


def _mentions_case_model(node: ast.AST) -> bool:
    return any(
        (isinstance(sub, ast.Name) and sub.id == CASE_MODEL)
        or (isinstance(sub, ast.Attribute) and sub.attr == CASE_MODEL)
        for sub in ast.walk(node)
    )


def _name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else ""


def case_writes(tree: ast.Module) -> list[int]:
    """Lines that add case rows: `AccountabilityCase(...)`, `AccountabilityCase.objects.create`
    and its kin, and a bulk insert (`insert_rows(AccountabilityCase, …)`)."""
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name | ast.Attribute) and _mentions_case_model(func):
            named = func.id if isinstance(func, ast.Name) else func.attr
            if named == CASE_MODEL or named in CREATING:
                lines.append(node.lineno)
        elif node.args and _mentions_case_model(node.args[0]) and WRITER.search(_name(func)):
            lines.append(node.lineno)  # a helper handed the model: a bulk insert
    return lines


def test_accountability_cases_are_created_only_in_compliance_cases():
    found = {}
    for path, tree, text in _parsed():
        lines = case_writes(tree)
        if RAW_INSERT.search(text):
            lines.append("raw SQL")
        if lines and path != CASES_HOME:
            found[path] = lines
    assert found == {}, "open cases through compliance.cases, not here"


def test_the_scan_sees_the_home_itself():
    """The scan finds the writes it is looking for (else the test above proves nothing)."""
    tree = ast.parse((ROOT / CASES_HOME).read_text())
    assert len(case_writes(tree)) >= 2  # one by one (bulk_create) and the sweep's bulk insert


def test_inspectors_of_a_region_is_defined_once():
    defined = [
        (path, node.name)
        for path, tree, _text in _parsed()
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.name in {"inspectors_of", "inspectors_by_region"}
    ]
    assert sorted(defined) == [
        (INSPECTORS_HOME, "inspectors_by_region"),
        (INSPECTORS_HOME, "inspectors_of"),
    ]


def test_no_other_module_works_out_inspectors_from_their_jurisdictions():
    """Who answers for a region is only ever asked of officials.selectors: nobody else loops
    over the inspectors comparing their jurisdictions (the three that disagreed did)."""
    offenders = []
    for path, _tree, text in _parsed():
        if path == INSPECTORS_HOME:
            continue
        if re.search(r"role\s*=\s*Role\.INSPECTOR", text) and "jurisdiction_regions(" in text:
            offenders.append(path)
    assert offenders == []
