#!/usr/bin/env python3
"""What a page costs to load: gzip bytes of what `make ui` built, and where the wasm's bytes go.

    python3 bench/weight.py            # after `make ui`; `make bench-weight` does both

Prints, for the settings page (`dist/`), the vault's JavaScript package (`dist/vault/`) and the
embed document's vault (`dist/embed/`), the raw and gzip (-9) bytes of each wasm and JS file.
Then, with `twiggy` on PATH, the ten largest contributors to the settings page's and the embed
vault's wasm by crate and by function, read from the linker's output before wasm-bindgen and
wasm-opt (which drop the names): shares of that, not of the shipped bytes.
"""

import collections
import csv
import glob
import gzip
import io
import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DIST = os.path.join(ROOT, "dist")
WASM_OUT = os.path.join(ROOT, "target", "wasm32-unknown-unknown", "wasm-release")

PAGES = [
    ("settings page", "byok-web-ui-*"),
    ("vault package (JavaScript API)", "vault/byok_vault*"),
    ("embed document's vault", "embed/byok_embed*"),
]

# The linker's outputs, with names. `make pkg` builds the embed vault last, so byok_vault.wasm
# is the embed document's.
NAMED = [
    ("settings page", "byok-web-ui.wasm"),
    ("embed document's vault", "byok_vault.wasm"),
]


def gz(path):
    with open(path, "rb") as f:
        return len(gzip.compress(f.read(), compresslevel=9))


def sizes():
    for name, pattern in PAGES:
        files = sorted(
            f
            for f in glob.glob(os.path.join(DIST, pattern))
            if f.endswith(".wasm") or f.endswith(".js")
        )
        if not files:
            sys.exit(f"nothing at dist/{pattern}: run `make ui` first")
        total = 0
        print(f"{name}:")
        for f in files:
            g = gz(f)
            total += g
            print(f"  {os.path.relpath(f, DIST):<42} {os.path.getsize(f):>10,} raw {g:>9,} gzip")
        print(f"  {'total':<42} {'':>14} {total:>9,} gzip")


def crate_of(item):
    """The crate an item's code belongs to: for `<A as B>::f`, A's; generic glue under `T`."""
    m = re.match(r"^<+\s*(?:&mut |&|dyn |\(|\[)*([A-Za-z_][A-Za-z0-9_]*)", item) or re.match(
        r"^([A-Za-z_][A-Za-z0-9_]*)", item
    )
    return m.group(1) if m else item[:24]


def top(name, wasm):
    out = subprocess.run(
        ["twiggy", "top", "-n", "1000000", "--format", "csv", wasm],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    crates = collections.Counter()
    functions = []
    for row in csv.DictReader(io.StringIO(out)):
        item, size = row["Name"], int(row["ShallowSize"])
        # Sections wasm-bindgen or wasm-opt remove: names, wasm-bindgen's own descriptions.
        if "function names" in item or "__wasm_bindgen_unstable" in item or "describe" in item:
            continue
        if item.startswith("data segment"):
            key = "(data: strings and tables)"
        else:
            key = crate_of(item)
        crates[key] += size
        functions.append((size, re.sub(r"::h[0-9a-f]{16}$", "", item)))
    total = sum(crates.values())
    print(f"\n{name}: {total:,} bytes of code and data before wasm-bindgen and wasm-opt")
    print("  by crate:")
    for crate, size in crates.most_common(10):
        print(f"    {size:>9,} {100 * size / total:5.1f}%  {crate}")
    print("  by function:")
    for size, item in sorted(functions, reverse=True)[:10]:
        print(f"    {size:>9,} {100 * size / total:5.1f}%  {item[:110]}")


def main():
    sizes()
    if not shutil.which("twiggy"):
        print("\n(twiggy is not on PATH: `make bench-weight` installs it)")
        return
    for name, file in NAMED:
        top(name, os.path.join(WASM_OUT, file))


if __name__ == "__main__":
    main()
