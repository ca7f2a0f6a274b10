#!/usr/bin/env python3
"""The import graph of a Rust crate's modules: which import each other in a circle, and which
import a module that stands above them in the crate's layering.

Usage: tools/layers.py SRC_DIR [LAYER ...]

SRC_DIR is a crate's `src` folder (or a folder inside one, read as its own tree: `ui` of the
settings page). LAYERs are the crate's top-level modules from the bottom up; a module may use
only modules of its own layer or of layers listed before it. With no LAYERs, only circles are
looked for. Prints the figures and every offending import, and exits 1 when there is one.

Read as text, like a reviewer would: `use` trees (of this crate's paths: `crate::`, `super::`,
`self::` or a child module's name) and such paths in the code, tests (`#[cfg(test)]` to the end of the file) and comments left out. A name a folder's
`mod.rs` (or `lib.rs`) re-exports counts as an import of the file that defines it, so the
index files that only list and re-export their parts stand apart from the graph.
"""

import re
import sys
from pathlib import Path

USE = re.compile(r"\buse\s+([^;]*);", re.S)
PATH = re.compile(r"\b((?:crate|super|self)(?:::[A-Za-z_][A-Za-z0-9_]*)+)")
REEXPORT = re.compile(r"^\s*pub\s+use\s+([^;]*);", re.M)


def strip(text):
    """The code of a file without its tests, comments and string contents."""
    text = re.split(r"^\s*#\[cfg\((?:all\()?test\b", text, maxsplit=1, flags=re.M)[0]
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    text = re.sub(r"b?'(?:\\.|[^'\\])'", "' '", text)
    return re.sub(r'r#*"(?:.|\n)*?"#*|"(?:\\.|[^"\\])*"', '""', text)


def expand(tree):
    """The paths of a `use` tree: `a::{b, c::{d}}` gives `a::b` and `a::c::d`."""
    tree = re.sub(r"\s+", "", tree)
    depth, start = 0, None
    for i, c in enumerate(tree):
        if c == "{":
            if depth == 0:
                start = i
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                head, inner = tree[:start], tree[start + 1 : i]
                parts, level, last = [], 0, 0
                for j, d in enumerate(inner):
                    level += d == "{"
                    level -= d == "}"
                    if d == "," and level == 0:
                        parts.append(inner[last:j])
                        last = j + 1
                parts.append(inner[last:])
                out = []
                for part in filter(None, parts):
                    out += expand(head + part) if part != "self" else [head.rstrip(":")]
                return out
    return [re.sub(r"\bas\b.*", "", tree)] if tree else []


# Whether the folder read is a crate's `src` (it has `lib.rs` or `main.rs`).
CRATE_ROOT = [True]


def modules(src):
    """Module path (a tuple, the crate root `()`) to file, for every file under `src`."""
    found = {}
    for file in sorted(src.rglob("*.rs")):
        rel = file.relative_to(src).with_suffix("").parts
        if rel in (("main",),):
            continue
        if rel[-1] in ("mod", "lib"):
            rel = rel[:-1]
        found[tuple(rel)] = file
    return found


def resolve(path, here, mods, reexports):
    """The module file a path (`crate::a::b::Name`) written in module `here` points into."""
    parts = path.split("::")
    if parts[0] == "crate" and not CRATE_ROOT[0]:
        return here  # a folder read as its own tree: `crate::` is outside it
    if parts[0] == "crate":
        base, rest = (), parts[1:]
    elif parts[0] == "self":
        base, rest = here, parts[1:]
    else:
        base, rest = here, parts
        while rest and rest[0] == "super":
            base, rest = base[:-1], rest[1:]
    target = base
    for name in rest:
        if target + (name,) in mods:
            target = target + (name,)
        elif name in reexports.get(target, {}):
            target = reexports[target][name]
            break
        else:
            break
    return target


def graph(src):
    """Every module, and the modules each imports (re-exports left out: see the module docs)."""
    mods = modules(src)
    code = {m: strip(f.read_text()) for m, f in mods.items()}
    reexports = {m: {} for m in mods}
    # Twice, so a re-export of a re-export (`lib.rs` naming what `config/mod.rs` names) lands.
    for _ in range(2):
        for m, text in code.items():
            for tree in REEXPORT.findall(text):
                for path in expand(tree):
                    target = resolve(path, m, mods, reexports)
                    if target != m:
                        reexports[m][path.split("::")[-1]] = target
    edges = {}
    for m, text in code.items():
        private = REEXPORT.sub(" ", text)
        paths = [p for tree in USE.findall(private) for p in expand(tree)]
        paths += PATH.findall(USE.sub(" ", private))
        edges[m] = {t for t in (resolve(p, m, mods, reexports) for p in paths) if t != m}
    return mods, edges


def circles(edges):
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    sys.setrecursionlimit(10_000)
    for v in list(edges):
        if v not in index:
            visit(v)
    return out


def name(m):
    return "::".join(m) or "crate root"


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    src, layers = Path(sys.argv[1]), sys.argv[2:]
    CRATE_ROOT[0] = (src / "lib.rs").exists() or (src / "main.rs").exists()
    mods, edges = graph(src)
    rank = {layer: i for i, layer in enumerate(layers)}
    found = circles(edges)
    upward = []
    for m, targets in sorted(edges.items()):
        for t in sorted(targets):
            a, b = (m[:1] or ("",))[0], (t[:1] or ("",))[0]
            if a in rank and b in rank and rank[b] > rank[a]:
                upward.append((m, t))
            elif layers and m and t and (a not in rank or b not in rank) and a != b:
                upward.append((m, t))
    count = sum(len(t) for t in edges.values())
    print(
        f"{src}: {len(mods)} modules, {count} imports, {len(found)} circles, "
        f"{len(upward)} imports that run up"
    )
    for group in found:
        print("  circle: " + " <-> ".join(name(m) for m in group))
    for m, t in upward:
        print(f"  runs up: {name(m)} -> {name(t)}")
    sys.exit(1 if found or upward else 0)


if __name__ == "__main__":
    main()
