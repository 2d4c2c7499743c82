"""The import rules of docs/ARCHITECTURE.md, checked by parsing the source with `ast` (nothing is imported).

1. The procedure core (connector/procedure/) imports only the standard library.
2. Only the gateways import the client libraries `jira`, `pysnow` and `requests`.
3. No module imports both a gateway and the rules (`connector.procedure.rules`).
4. No import circle among the modules of connector/ and jobs/ (imports run when a module loads).
5. The procedure core names no tool: no string in its code says "jira" or "servicenow" (what differs
   between tools comes in through the `Policy` the mapping builds). Docstrings may name them.
6. No module picks a module by a computed name (`importlib.import_module` / `__import__` with anything
   but a string constant): a tool is reached through its adapter object, never through a name.
7. The use cases (connector/services/) do not import `sqlalchemy`: every query is a repository method
   of connector/store/, reached through the unit of work (`connector.services.ports`).
8. Only connector/store/ (tables, repositories, unit of work, migrations) imports `sqlalchemy` outside
   type annotations: the queries live there. What still writes its own is listed in EXCEPTIONS.
9. The actions' vocabulary (connector/outbox.py) imports no connector module but connector.commands.

Rules 1-3 and 7 count every import in a file, inside functions too; rule 4 counts what runs at import
time; rule 8 leaves out what is imported for annotations only (under `if TYPE_CHECKING:`).
An exception to a rule is written in EXCEPTIONS with its reason.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("connector", "jobs")
CORE = "connector.procedure"
RULES = "connector.procedure.rules"
CLIENT_LIBRARIES = frozenset({"jira", "pysnow", "requests"})
GATEWAYS = {
    "connector.jira.gateway": "the Jira gateway: jira, requests",
    "connector.jira.admin": "the Jira gateway's admin calls (a mixin of JiraGateway)",
    "connector.servicenow.gateway": "the ServiceNow gateway: pysnow, requests",
    "connector.github.gateway": "the GitHub gateway (deployment protection rules): requests",
}
STORE = "connector.store"
# (rule, module) -> why the module may break the rule.
EXCEPTIONS: dict[tuple[str, str], str] = {}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # what it names, absolute: "a.b" for `import a.b`, "a.b.c" for `from a.b import c`
    line: int
    at_load: bool  # runs when the module is imported (not inside a function, not under TYPE_CHECKING)
    typing_only: bool = False  # under `if TYPE_CHECKING:`: for annotations, never run


@dataclass(frozen=True)
class Tree:
    root: Path
    modules: dict[str, Path]  # dotted name -> file

    @classmethod
    def scan(cls, root: Path, packages: Iterable[str]) -> Tree:
        modules = {}
        for package in packages:
            for path in sorted((root / package).rglob("*.py")):
                parts = path.relative_to(root).with_suffix("").parts
                modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
        return cls(root, modules)

    def where(self, found: Import) -> str:
        return f"{self.modules[found.module].relative_to(self.root)}:{found.line}"

    def imports(self, module: str) -> list[Import]:
        path = self.modules[module]
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        return list(_imports(module, package, ast.parse(path.read_text(), str(path)).body, at_load=True))

    def local(self, target: str) -> str | None:
        """The module of this tree that `target` loads (the deepest that exists), or None. A package's
        submodule imported by name (`from a import b`, b a module) is that module, not the package."""
        parts = target.split(".")
        while parts and ".".join(parts) not in self.modules:
            parts.pop()
        return ".".join(parts) or None


def _imports(
    module: str, package: str, body: list[ast.stmt], *, at_load: bool, typing_only: bool = False
) -> Iterator[Import]:
    for node in body:
        if isinstance(node, ast.Import):
            yield from (Import(module, alias.name, node.lineno, at_load, typing_only) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, *([node.module] if node.module else [])])
            yield from (
                Import(module, f"{base}.{alias.name}", node.lineno, at_load, typing_only)
                for alias in node.names
            )
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from _imports(module, package, node.body, at_load=False, typing_only=True)
            yield from _imports(module, package, node.orelse, at_load=at_load, typing_only=typing_only)
        else:
            deferred = isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            for field in ("body", "orelse", "finalbody", "handlers", "cases"):
                inner = getattr(node, field, None)
                if isinstance(inner, list) and inner and isinstance(inner[0], ast.AST):
                    yield from _imports(
                        module,
                        package,
                        _statements(inner),
                        at_load=at_load and not deferred,
                        typing_only=typing_only,
                    )


def _statements(nodes: list[ast.AST]) -> list[ast.stmt]:
    """Statements of a block; an `except` handler or a `match` case contributes its own body."""
    out: list[ast.stmt] = []
    for node in nodes:
        out.extend(node.body if isinstance(node, ast.ExceptHandler | ast.match_case) else [node])  # type: ignore[list-item]
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _allowed(rule: str, module: str) -> bool:
    return (rule, module) in EXCEPTIONS


def core_violations(tree: Tree, core: str = CORE) -> list[str]:
    """Rule 1: imports in the core that are neither the standard library nor the core itself."""
    found = []
    for module in tree.modules:
        if not (module == core or module.startswith(core + ".")) or _allowed("core", module):
            continue
        for imp in tree.imports(module):
            top = imp.target.split(".")[0]
            inside = imp.target == core or imp.target.startswith(core + ".")
            if top not in sys.stdlib_module_names and not inside:
                found.append(f"{tree.where(imp)}: the core imports {imp.target}")
    return sorted(set(found))


def client_library_violations(tree: Tree, gateways: Iterable[str] = GATEWAYS) -> list[str]:
    """Rule 2: modules other than the gateways that import jira, pysnow or requests."""
    found = []
    for module in tree.modules:
        if module in gateways or _allowed("client", module):
            continue
        for imp in tree.imports(module):
            if imp.target.split(".")[0] in CLIENT_LIBRARIES:
                found.append(f"{tree.where(imp)}: {module} imports {imp.target}, which only a gateway may")
    return sorted(set(found))


def gateway_and_rules_violations(
    tree: Tree, gateways: Iterable[str] = GATEWAYS, rules: str = RULES
) -> list[str]:
    """Rule 3: modules that import a gateway and the rules."""
    gateways = set(gateways)
    found = []
    for module in tree.modules:
        if _allowed("gateway+rules", module):
            continue
        loaded = {tree.local(imp.target): imp for imp in tree.imports(module)}
        used = sorted(gateways & loaded.keys())
        ruling = next((m for m in loaded if m and (m == rules or m.startswith(rules + "."))), None)
        if used and ruling:
            found.append(f"{tree.where(loaded[ruling])}: {module} imports the rules and {', '.join(used)}")
    return found


SERVICES = "connector.services"


def sql_in_services_violations(tree: Tree, services: str = SERVICES) -> list[str]:
    """Rule 7: modules of the services that import sqlalchemy."""
    found = []
    for module in tree.modules:
        if not (module == services or module.startswith(services + ".")) or _allowed("sql", module):
            continue
        for imp in tree.imports(module):
            if imp.target.split(".")[0] == "sqlalchemy":
                found.append(f"{tree.where(imp)}: the use case {module} imports {imp.target}")
    return sorted(set(found))


def sql_outside_the_store_violations(tree: Tree, store: str = STORE) -> list[str]:
    """Rule 8: modules outside the store that import sqlalchemy for more than annotations."""
    found = []
    for module in tree.modules:
        if module == store or module.startswith(store + ".") or _allowed("store", module):
            continue
        for imp in tree.imports(module):
            if imp.target.split(".")[0] == "sqlalchemy" and not imp.typing_only:
                found.append(f"{tree.where(imp)}: {module} imports {imp.target}, which only the store may")
    return sorted(set(found))


TOOL_NAMES = re.compile(r"jira|servicenow", re.IGNORECASE)


def tool_name_violations(tree: Tree, core: str = CORE) -> list[str]:
    """Rule 5: string constants in the core, docstrings aside, that name a tool."""
    found = []
    for module, path in tree.modules.items():
        if not (module == core or module.startswith(core + ".")) or _allowed("tool", module):
            continue
        syntax = ast.parse(path.read_text(), str(path))
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(syntax)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        }
        for node in ast.walk(syntax):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in docstrings
                and TOOL_NAMES.search(node.value)
            ):
                where = f"{path.relative_to(tree.root)}:{node.lineno}"
                found.append(f"{where}: the core names a tool in {node.value!r}")
    return sorted(found)


def string_dispatch_violations(tree: Tree) -> list[str]:
    """Rule 6: calls of `importlib.import_module` or `__import__` whose module name is not a constant."""
    found = []
    for module, path in tree.modules.items():
        if _allowed("dispatch", module):
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Call) or not _imports_by_name(node.func):
                continue
            name = node.args[0] if node.args else None
            if not (isinstance(name, ast.Constant) and isinstance(name.value, str)):
                where = f"{path.relative_to(tree.root)}:{node.lineno}"
                found.append(f"{where}: {module} imports a module by a computed name")
    return sorted(found)


def _imports_by_name(func: ast.expr) -> bool:
    if isinstance(func, ast.Name):
        return func.id in ("import_module", "__import__")
    return isinstance(func, ast.Attribute) and func.attr == "import_module"


def import_cycles(tree: Tree) -> list[str]:
    """Rule 4: each circle of imports that run at load time, as "file:line: a -> b -> a"."""
    graph: dict[str, dict[str, Import]] = {}
    for module in tree.modules:
        graph[module] = {}
        for imp in tree.imports(module):
            target = tree.local(imp.target)
            if imp.at_load and target not in (None, module):
                graph[module].setdefault(target, imp)
    cycles = []
    for component in _strongly_connected(graph):
        if len(component) > 1 and not all(_allowed("cycle", m) for m in component):
            path = _cycle_through(graph, component)
            cycles.append(f"{tree.where(graph[path[0]][path[1]])}: " + " -> ".join(path))
    return sorted(cycles)


def _strongly_connected(graph: dict[str, dict[str, Import]]) -> list[list[str]]:
    """Tarjan's algorithm."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while (member := stack.pop()) != node:
                component.append(member)
            components.append(sorted([*component, node]))

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10 * len(graph) + 100))
    try:
        for node in sorted(graph):
            if node not in index:
                visit(node)
    finally:
        sys.setrecursionlimit(limit)
    return components


def _cycle_through(graph: dict[str, dict[str, Import]], component: list[str]) -> list[str]:
    """A shortest circle from the component's first module back to it, staying inside the component."""
    start, members = component[0], set(component)
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for nxt in sorted(graph[node]):
            if nxt == start:
                return [*paths[node], start]
            if nxt in members and nxt not in paths:
                paths[nxt] = [*paths[node], nxt]
                queue.append(nxt)
    raise AssertionError(f"no circle through {start}")


# --- the rules, on this repository --------------------------------------------------------------------


def test_the_procedure_core_imports_only_the_standard_library():
    assert core_violations(Tree.scan(ROOT, PACKAGES)) == []


def test_only_the_gateways_import_jira_pysnow_or_requests():
    assert client_library_violations(Tree.scan(ROOT, PACKAGES)) == []


def test_no_module_imports_both_a_gateway_and_the_rules():
    assert gateway_and_rules_violations(Tree.scan(ROOT, PACKAGES)) == []


def test_the_procedure_core_names_no_tool():
    assert tool_name_violations(Tree.scan(ROOT, PACKAGES)) == []


def test_the_use_cases_write_no_sql():
    assert sql_in_services_violations(Tree.scan(ROOT, PACKAGES)) == []


def test_only_the_store_writes_queries():
    assert sql_outside_the_store_violations(Tree.scan(ROOT, PACKAGES)) == []


def test_connector_and_jobs_modules_import_no_circle():
    assert import_cycles(Tree.scan(ROOT, PACKAGES)) == []


def test_no_module_of_connector_or_jobs_imports_a_module_by_a_computed_name():
    assert string_dispatch_violations(Tree.scan(ROOT, PACKAGES)) == []


def test_the_listed_gateways_and_exceptions_name_modules_that_exist():
    modules = Tree.scan(ROOT, PACKAGES).modules
    named = [*GATEWAYS, *(module for _rule, module in EXCEPTIONS)]
    assert [name for name in named if name not in modules] == []
    assert {rule for rule, _module in EXCEPTIONS} <= {
        "core",
        "client",
        "gateway+rules",
        "cycle",
        "tool",
        "dispatch",
        "sql",
        "store",
    }


def test_the_webhooks_trip_on_the_architecture_page_is_at_most_six_files():
    page = (ROOT / "docs" / "ARCHITECTURE.md").read_text()
    block = page.split("## One webhook, from the view to the gateway call", 1)[1].split("```", 2)[1]
    trip = re.findall(r"^(connector/\S+\.py)", block, re.MULTILINE)
    assert trip[0] == "connector/web/webhooks.py" and trip[-1] == "connector/jira/gateway.py"
    assert len(trip) <= 6, trip


def test_the_outbox_actions_vocabulary_imports_no_layer_of_the_connector():
    """Every layer shares connector/outbox.py (use cases, the store's codec, each tool's actions): it
    imports only the standard library and the commands' values, so queuing and performing meet there
    without a circle."""
    tree = Tree.scan(ROOT, PACKAGES)
    found = [
        f"{tree.where(imp)}: {imp.target}"
        for imp in tree.imports("connector.outbox")
        if not imp.typing_only
        and tree.local(imp.target) is not None
        and tree.local(imp.target) != "connector.commands"
    ]
    assert found == []


def test_every_file_the_architecture_page_names_exists():
    page = (ROOT / "docs" / "ARCHITECTURE.md").read_text()
    named = set(re.findall(r"[\w/]+/[\w]+\.py\b", page))  # connector/web/webhooks.py, jira/actions.py
    assert len(named) >= 6  # at least the webhook's trip
    missing = [
        path for path in named if not ((ROOT / path).is_file() or (ROOT / "connector" / path).is_file())
    ]
    assert sorted(missing) == []


# --- the checker, on a tiny tree that breaks every rule ------------------------------------------------


def write(root: Path, files: dict[str, str]) -> Tree:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return Tree.scan(root, ["app"])


def test_checker_reports_a_core_module_importing_a_third_party_library(tmp_path):
    tree = write(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/core/__init__.py": "",
            "app/core/calendar.py": "import datetime\nfrom . import model\n\ndef f():\n    import holidays\n",
            "app/core/model.py": "from __future__ import annotations\nfrom app.core import calendar\n",
        },
    )
    assert core_violations(tree, core="app.core") == ["app/core/calendar.py:5: the core imports holidays"]


def test_checker_reports_requests_outside_the_gateways(tmp_path):
    tree = write(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/gateway.py": "import requests\nimport jira\n",
            "app/view.py": "from requests.exceptions import Timeout\n",
        },
    )
    assert client_library_violations(tree, gateways=["app.gateway"]) == [
        "app/view.py:1: app.view imports requests.exceptions.Timeout, which only a gateway may"
    ]


def test_checker_reports_a_module_that_uses_a_gateway_and_the_rules(tmp_path):
    tree = write(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/gateway.py": "",
            "app/rules/__init__.py": "",
            "app/rules/r5.py": "",
            "app/fine.py": "from app import rules\n",
            "app/mixed.py": "from app.gateway import Client\n\ndef decide():\n    from .rules import check\n",
            "app/one_rule.py": "from app.rules.r5 import on_review\nfrom app import gateway\n",
        },
    )
    assert gateway_and_rules_violations(tree, gateways=["app.gateway"], rules="app.rules") == [
        "app/mixed.py:4: app.mixed imports the rules and app.gateway",
        "app/one_rule.py:1: app.one_rule imports the rules and app.gateway",
    ]


def test_checker_reports_sqlalchemy_in_a_use_case_but_not_in_the_store(tmp_path):
    tree = write(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/services/__init__.py": "",
            "app/services/changes.py": "def load(uow):\n    from sqlalchemy import select\n",
            "app/services/fine.py": "from app.store import tables\n",
            "app/store/__init__.py": "",
            "app/store/tables.py": "import sqlalchemy\n",
        },
    )
    assert sql_in_services_violations(tree, services="app.services") == [
        "app/services/changes.py:2: the use case app.services.changes imports sqlalchemy.select"
    ]


def test_checker_reports_sqlalchemy_outside_the_store_but_not_for_annotations(tmp_path):
    tree = write(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/store/__init__.py": "",
            "app/store/repos.py": "from sqlalchemy import select\n",
            "app/jobs.py": "def run():\n    from sqlalchemy import update\n",
            "app/typed.py": (
                "from typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n    from sqlalchemy.orm import Session\n"
            ),
            "app/web.py": "from sqlalchemy.exc import SQLAlchemyError\n",
        },
    )
    assert sql_outside_the_store_violations(tree, store="app.store") == [
        "app/jobs.py:2: app.jobs imports sqlalchemy.update, which only the store may",
        "app/web.py:1: app.web imports sqlalchemy.exc.SQLAlchemyError, which only the store may",
    ]


def test_checker_reports_a_tool_named_in_core_code_but_not_in_a_docstring(tmp_path):
    tree = write(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/core/__init__.py": '"""Rules for Jira and ServiceNow alike."""\n',
            "app/core/rules.py": (
                'def documented(change):\n    """ServiceNow close codes count."""\n'
                '    return change.tool == "servicenow"\n'
            ),
            "app/tools.py": 'TOOL = "jira"\n',
        },
    )
    assert tool_name_violations(tree, core="app.core") == [
        "app/core/rules.py:3: the core names a tool in 'servicenow'"
    ]


def test_checker_reports_a_circle_but_not_a_deferred_type_only_or_submodule_import(tmp_path):
    tree = write(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/a.py": "from app import b\n",
            "app/b.py": "import app.c as c\n",
            "app/c.py": "from .a import thing\n",
            "app/d.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from app import e\n",
            "app/e.py": "from app import d\n\ndef later():\n    from app import a\n",
            "app/pkg/__init__.py": "from app.pkg.x import run\n",
            "app/pkg/x.py": "from app.pkg import y\n",  # the submodule y, not back through the package
            "app/pkg/y.py": "",
        },
    )
    assert import_cycles(tree) == ["app/a.py:1: app.a -> app.b -> app.c -> app.a"]


def test_checker_reports_an_import_by_a_computed_name_but_not_by_a_constant(tmp_path):
    tree = write(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/fine.py": "import importlib\n\nimportlib.import_module('app.tools')\n",
            "app/table.py": "import importlib\nTOOLS = {'a': 'app.a'}\n\ndef get(t):\n"
            "    return importlib.import_module(TOOLS[t])\n",
            "app/fstring.py": "from importlib import import_module\n\ndef get(t):\n"
            "    return import_module(f'app.{t}.installer')\n",
            "app/dunder.py": "def get(t):\n    return __import__(t)\n",
        },
    )
    assert string_dispatch_violations(tree) == [
        "app/dunder.py:2: app.dunder imports a module by a computed name",
        "app/fstring.py:4: app.fstring imports a module by a computed name",
        "app/table.py:5: app.table imports a module by a computed name",
    ]
