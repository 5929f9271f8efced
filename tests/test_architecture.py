"""Rules of the code base that a reviewer would otherwise have to remember (STYLE.md 1 and 10).

Both read the source with `ast`: nothing is imported, so a violation is found even in code that
no test happens to run.
"""

import ast
from pathlib import Path

import pytest

from requests_app.models import Status

ROOT = Path(__file__).resolve().parent.parent
# The floors, lowest first (DESIGN.md "Layout"): a package imports only from floors below it.
FLOORS = (
    "core",
    "officials",
    "notifications",
    "compliance",
    "requests_app",
    "inspection",
    "reports",
    "portal",
)
APPS = FLOORS
WORKFLOW = "requests_app/workflow.py"
REQUEST_STATUSES = frozenset(Status.values)
# Code outside the workflow that may write a field named `status` of some *other* model, with
# the reason. Empty today; an entry needs a reviewer's agreement.
ALLOWED_STATUS_WRITES: dict[str, str] = {  # path → why
    "officials/claims.py": "an enterprise claim's status, not a request's: verify_claim and "
    "refuse_claim are its only writers",
}


def source_files() -> list[Path]:
    """The project's Python files, without tests and migrations (which build rows on purpose)."""
    files = [ROOT / "manage.py"]
    for app in APPS:
        files += [
            path
            for path in sorted((ROOT / app).rglob("*.py"))
            if "migrations" not in path.relative_to(ROOT).parts
        ]
    return files


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


# --- 1. one function changes a request's status --------------------------------------------------


def _could_be_a_request_status(value: ast.expr | None) -> bool:
    """False only when the value is plainly another model's status (e.g. `CaseStatus.OPEN`)."""
    if isinstance(value, ast.Constant) and isinstance(value.value, str):
        return value.value in REQUEST_STATUSES
    if isinstance(value, ast.Attribute) and isinstance(value.value, ast.Name):
        return value.value.id in {"Status", "S"}
    return True  # a variable or an expression: it could be anything, so it counts


def status_writes(source: str) -> list[tuple[int, str]]:
    """Every place in `source` that could set a `status` field: (line, what)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        # obj.status = …, obj.status += …, a, obj.status = …, for obj.status in …
        if (
            isinstance(node, ast.Attribute)
            and node.attr == "status"
            and isinstance(node.ctx, ast.Store)
        ):
            found.append((node.lineno, "assigns .status"))
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        # setattr(obj, "status", …)
        if (
            name == "setattr"
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and node.args[1].value == "status"
        ):
            found.append((node.lineno, "setattr status"))
        # queryset.update(status=…), Model.objects.create(status=…), update_or_create(…)
        if name in {"update", "create", "get_or_create", "update_or_create", "bulk_create"}:
            for keyword in node.keywords:
                if keyword.arg == "status" and _could_be_a_request_status(keyword.value):
                    found.append((node.lineno, f"{name}(status=…)"))
                if keyword.arg in {"defaults", "create_defaults"} and isinstance(
                    keyword.value, ast.Dict
                ):
                    for key, value in zip(keyword.value.keys, keyword.value.values, strict=True):
                        if (
                            isinstance(key, ast.Constant)
                            and key.value == "status"
                            and _could_be_a_request_status(value)
                        ):
                            found.append((node.lineno, f"{name}(defaults={{'status': …}})"))
        # bulk_update(rows, ["status", …])
        if name == "bulk_update":
            fields = node.args[1] if len(node.args) > 1 else None
            fields = fields or next((k.value for k in node.keywords if k.arg == "fields"), None)
            if isinstance(fields, ast.List | ast.Tuple | ast.Set) and any(
                isinstance(e, ast.Constant) and e.value == "status" for e in fields.elts
            ):
                found.append((node.lineno, "bulk_update(…, ['status'])"))
    return found


@pytest.mark.parametrize(
    "code",
    [
        "request.status = Status.CLOSED",
        "request.status = 'closed'",
        "request.status = new_status",
        "request.status += ''",
        "first, request.status = 1, 'closed'",
        "for request.status in ['closed']: pass",
        "setattr(request, 'status', 'closed')",
        "ServiceRequest.objects.filter(pk=1).update(status='closed')",
        "ServiceRequest.objects.filter(pk=1).update(status=F('x'))",
        "ServiceRequest.objects.create(enterprise=e, status=Status.CLOSED)",
        "ServiceRequest.objects.update_or_create(pk=1, defaults={'status': 'rejected'})",
        "ServiceRequest.objects.bulk_update(rows, ['status', 'closed_at'])",
        "ServiceRequest.objects.bulk_update(rows, fields=('status',))",
    ],
)
def test_the_scanner_finds_status_writes(code):
    assert status_writes(code), code


@pytest.mark.parametrize(
    "code",
    [
        "status = request.status",
        "if request.status == 'closed': pass",
        "ServiceRequest.objects.filter(status='closed')",
        "Q(status=Status.SUBMITTED)",
        "Response(data, status=409)",
        "render(request, 'x.html', status=404)",
        "case.objects.create(status=CaseStatus.OPEN)",
        "Report.objects.filter(pk=1).update(status='received')",
        "request.status_label = 'x'",
    ],
)
def test_the_scanner_leaves_reads_and_other_statuses_alone(code):
    assert not status_writes(code), code


def test_only_the_workflow_writes_a_request_status():
    offenders = []
    workflow_writes = []
    for path in source_files():
        for line, what in status_writes(path.read_text(encoding="utf-8")):
            name = relative(path)
            if name == WORKFLOW:
                workflow_writes.append(line)
            elif name not in ALLOWED_STATUS_WRITES:
                offenders.append(f"{name}:{line}: {what}")
    assert not offenders, "only requests_app/workflow.py may change a request's status"
    # The scanner is live on the real code: it does see the one legitimate assignment.
    assert workflow_writes, "the scanner no longer finds workflow.transition()'s assignment"


# --- 10. apps depend in one direction ------------------------------------------------------------


def imports_in(source: str, package: str) -> set[str]:
    """Modules `source` imports, anywhere (a lazy import inside a function counts too)."""
    modules: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from . import x / from ..y import z
                parts = package.split(".")
                base = parts[: len(parts) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            modules.add(module)
            modules.update(f"{module}.{alias.name}" for alias in node.names)
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", ""))
            in {"import_module", "__import__"}
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            modules.add(str(node.args[0].value))
    return modules


def imported_modules(path: Path) -> set[str]:
    package = ".".join(path.relative_to(ROOT).parts[:-1])
    return imports_in(path.read_text(encoding="utf-8"), package)


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Project module → the project modules it imports (importing a.b.c also runs a and a.b)."""
    files = {_module_name(path): path for path in source_files() if path.name != "manage.py"}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        targets = set()
        for module in imported_modules(path):
            parts = module.split(".")
            for end in range(1, len(parts) + 1):
                candidate = ".".join(parts[:end])
                if candidate in files and candidate != name:
                    targets.add(candidate)
        graph[name] = targets
    return graph


def _path_to(graph: dict[str, set[str]], start: str, forbidden: str) -> list[str] | None:
    """The first import chain from `start` into the `forbidden` package, if any."""
    seen, queue = {start}, [[start]]
    while queue:
        chain = queue.pop(0)
        for nxt in sorted(graph.get(chain[-1], ())):
            if nxt == forbidden or nxt.startswith(forbidden + "."):
                return [*chain, nxt]
            if nxt not in seen:
                seen.add(nxt)
                queue.append([*chain, nxt])
    return None


FLOOR_PAIRS = [(lower, upper) for i, lower in enumerate(FLOORS) for upper in FLOORS[i + 1 :]]


def _in(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


@pytest.mark.parametrize(("lower", "upper"), FLOOR_PAIRS)
def test_a_floor_never_imports_a_floor_above_it(lower, upper):
    """Directly (any import, lazy ones too) or through any chain of modules."""
    graph = import_graph()
    chains = [
        " → ".join(chain)
        for module in sorted(graph)
        if _in(module, lower)
        if (chain := _path_to(graph, module, upper))
    ]
    assert not chains


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def _without_parent_packages(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    # Importing a.b.c runs a/__init__ first, but an __init__ that imports its own submodule
    # is not a cycle of the code's ideas; the floors test above still sees those edges.
    return {
        name: {target for target in targets if not name.startswith(target + ".")}
        for name, targets in graph.items()
    }


def test_no_module_imports_in_a_circle():
    assert not import_cycles(_without_parent_packages(import_graph()))


def test_the_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert import_cycles(graph) == [["a", "b", "c"]]
    assert import_cycles({"a": {"b"}, "b": set()}) == []


def test_every_package_of_the_project_is_on_a_floor():
    packages = {
        path.parent.name
        for path in ROOT.glob("*/__init__.py")
        if path.parent.name not in {"tests", "benchmarks", "docs"}
    }
    assert packages == set(FLOORS)


def test_the_import_scanner_sees_lazy_relative_and_dynamic_imports():
    code = (
        "import os\n"
        "from . import models\n"
        "from ..selectors import visible\n"
        "def later():\n"
        "    from requests_app.workflow import transition\n"
        "    importlib.import_module('requests_app.selectors')\n"
    )
    modules = imports_in(code, "officials.management")
    assert {
        "os",
        "officials.management.models",
        "officials.selectors.visible",
        "requests_app.workflow",
        "requests_app.selectors",
    } <= modules


def test_the_graph_sees_the_real_dependencies():
    """Positive control: requests_app does depend on officials, so the graph is not empty."""
    graph = import_graph()
    assert _path_to(graph, "requests_app.workflow", "officials") is not None
    # …and follows chains: portal.urls imports requests_app, so anything importing it would too.
    assert _path_to(graph, "portal.urls", "requests_app") is not None
    assert "officials.models" in graph
