#!/usr/bin/env python3
"""Adds a working resource room to NeoForge: `make new-resource NAME=widgets [SINGULAR=widget]`.

Copies `tools/resource-template/` (placeholders `__names__`, `__Names__`, `__name__`, `__Name__`,
`__path__`) into `server/src/<names>/`, one migration per backend and `server/tests/api/<names>.rs`, then
registers the room at the `// new-resource: …` anchors of lib.rs, app.rs, openapi.rs, db/migrate.rs,
tests/api/main.rs and tests/api/access.rs. See docs/adding-a-resource.md. Standard library only.
"""

import argparse
import keyword
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "tools" / "resource-template"
SERVER = ROOT / "server"
IDENT = re.compile(r"^[a-z][a-z0-9_]*$")
# Rust keywords and names the generated code relies on (a room named `resource` would shadow the toolkit).
RESERVED = {
    "crate", "self", "super", "mod", "type", "ref", "move", "box", "dyn", "async", "await", "try", "gen",
    "resource", "support", "http", "db", "state", "error", "app", "tests", "model", "store", "handlers",
}


def fail(msg: str) -> None:
    print(f"new-resource: {msg}", file=sys.stderr)
    sys.exit(2)


def camel(snake: str) -> str:
    return "".join(part.capitalize() for part in snake.split("_") if part)


def check_names(names: str, singular: str) -> None:
    for label, value in (("NAME", names), ("SINGULAR", singular)):
        if not IDENT.match(value) or "__" in value or value.endswith("_"):
            fail(f"{label}={value!r} must be snake_case: [a-z][a-z0-9_]* (no double or trailing underscore)")
        if keyword.iskeyword(value) or value in RESERVED:
            fail(f"{label}={value!r} is reserved")
    if not names.endswith("s"):
        fail(f"NAME={names!r} is the plural table name and must end in 's' (e.g. widgets)")
    if singular == names:
        fail(f"SINGULAR={singular!r} must differ from NAME (pass SINGULAR= when stripping the 's' is wrong)")


def check_free(names: str, singular: str, path: str) -> None:
    taken = []
    if (SERVER / "src" / names).exists() or (SERVER / "src" / f"{names}.rs").exists():
        taken.append(f"server/src/{names}")
    if (SERVER / "tests" / "api" / f"{names}.rs").exists():
        taken.append(f"server/tests/api/{names}.rs")
    if re.search(rf"^\s*(pub )?mod {names};", (SERVER / "src" / "lib.rs").read_text(), re.M):
        taken.append(f"`mod {names}` in lib.rs")
    for backend in ("sqlite", "postgres"):
        for sql in (SERVER / "migrations" / backend).glob("*.sql"):
            text = sql.read_text()
            if sql.stem.split("_", 1)[-1] == names or re.search(rf"CREATE TABLE (IF NOT EXISTS )?{names}\b", text):
                taken.append(f"table {names} ({sql.relative_to(ROOT)})")
    access = (SERVER / "tests" / "api" / "access.rs").read_text()
    if f'"/api/v1/{path}"' in access:
        taken.append(f"route /api/v1/{path}")
    if f'KIND: &\'static str = "{singular}"' in "".join(p.read_text() for p in (SERVER / "src").rglob("*.rs")):
        taken.append(f"resource kind {singular!r}")
    if taken:
        fail(f"{names!r} exists already: " + ", ".join(taken))


def substitute(text: str, subs: dict) -> str:
    for key, value in subs.items():
        text = text.replace(key, value)
    return text


def anchor_line(lines: list, anchor: str, file: Path) -> int:
    found = [i for i, line in enumerate(lines) if line.strip().startswith(f"// new-resource: {anchor}")]
    if len(found) != 1:
        fail(f"{file.relative_to(ROOT)}: expected one `// new-resource: {anchor}` anchor, found {len(found)}")
    return found[0]


def insert_above(file: Path, anchor: str, new_lines: list) -> None:
    lines = file.read_text().splitlines(keepends=True)
    at = anchor_line(lines, anchor, file)
    lines[at:at] = new_lines
    file.write_text("".join(lines))


def insert_sorted(file: Path, anchor: str, new_line: str) -> None:
    """Adds `new_line` to the block of `mod` lines right above the anchor, keeping it sorted as rustfmt does."""
    lines = file.read_text().splitlines(keepends=True)
    at = anchor_line(lines, anchor, file)
    start = at
    while start > 0 and re.match(r"^(pub )?mod \w+;\s*$", lines[start - 1]):
        start -= 1
    block = sorted(lines[start:at] + [new_line], key=lambda l: l.split("mod ", 1)[1])
    lines[start:at] = block
    file.write_text("".join(lines))


def next_version(backend: str) -> int:
    versions = [int(p.name.split("_", 1)[0]) for p in (SERVER / "migrations" / backend).glob("*.sql")]
    return max(versions, default=0) + 1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", help="plural snake_case table and module name, e.g. widgets or line_items")
    ap.add_argument("singular", nargs="?", help="singular (default: NAME without its trailing 's'; 'ies' becomes 'y')")
    args = ap.parse_args()
    names = args.names
    singular = args.singular or (names[:-3] + "y" if names.endswith("ies") else names[:-1])
    check_names(names, singular)
    path = names.replace("_", "-")
    check_free(names, singular, path)

    subs = {
        "__Names__": names.replace("_", " ").capitalize(),
        "__names__": names,
        "__Name__": camel(singular),
        "__name__": singular,
        "__path__": path,
    }
    created = []

    def write(rel: str, template: str) -> Path:
        dest = ROOT / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(substitute((TEMPLATE / template).read_text(), subs))
        created.append(rel)
        return dest

    for part in ("mod", "handlers", "model", "store"):
        write(f"server/src/{names}/{part}.rs", f"src/{part}.rs")
    write(f"server/tests/api/{names}.rs", "tests/api.rs")
    migrate = SERVER / "src" / "db" / "migrate.rs"
    for backend in ("sqlite", "postgres"):
        version = next_version(backend)
        write(f"server/migrations/{backend}/{version}_{names}.sql", f"migrations/{backend}.sql")
        insert_above(migrate, f"{backend} migrations", [f'    {version} "{names}",\n'])

    insert_sorted(SERVER / "src" / "lib.rs", "rooms", f"pub mod {names};\n")
    insert_above(SERVER / "src" / "app.rs", "routers", [f"                .merge(crate::{names}::router())\n"])
    tag = f'        (name = "{names}", description = "{subs["__Names__"]}, private to their owner"),\n'
    insert_above(SERVER / "src" / "openapi.rs", "tags", [tag])
    insert_sorted(SERVER / "tests" / "api" / "main.rs", "test modules", f"mod {names};\n")
    rows = [
        f'    ("GET", "/api/v1/{path}", Gate::User),\n',
        f'    ("POST", "/api/v1/{path}", Gate::User),\n',
        f'    ("GET", "/api/v1/{path}/{{id}}", Gate::User),\n',
        f'    ("PATCH", "/api/v1/{path}/{{id}}", Gate::User),\n',
        f'    ("DELETE", "/api/v1/{path}/{{id}}", Gate::User),\n',
    ]
    insert_above(SERVER / "tests" / "api" / "access.rs", "access rows", rows)

    # The template's import lists and line widths depend on the name: let rustfmt settle them.
    if shutil.which("rustfmt"):
        files = [str(ROOT / f"server/src/{names}/mod.rs"), str(ROOT / f"server/tests/api/{names}.rs")]
        subprocess.run(["rustfmt", "--edition", "2024", *files], check=True, cwd=ROOT)
    else:
        print("new-resource: rustfmt not found; run `cargo fmt --all`", file=sys.stderr)

    print(f"new-resource: added {names} ({singular}) at /api/v1/{path}")
    for rel in created:
        print(f"  created  {rel}")
    print("  edited   server/src/{lib.rs,app.rs,openapi.rs,db/migrate.rs} server/tests/api/{main.rs,access.rs}")
    print("next: make openapi && (cd web && npm run api:types);")
    print(f"      cargo test -p neoforge --test api {names}::   (docs/adding-a-resource.md)")


if __name__ == "__main__":
    main()
