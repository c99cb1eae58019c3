#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Fail if a public symbol is missing from netdb-sections.txt.

gtkdoc-check catches undocumented symbols only among those listed in the
sections file; this catches a new public symbol that nobody listed (and so
nobody documented).  Usage: check-sections.py SECTIONS DECL-LIST
"""

import re
import sys


def symbols(path):
    found = set()
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("<") and not line.startswith("#"):
                found.add(line)
    return found


def main():
    sections_path, decl_list_path = sys.argv[1:3]
    listed = symbols(sections_path)
    declared = symbols(decl_list_path)
    missing = sorted(declared - listed)
    stale = sorted(s for s in listed - declared if not re.match(r"^\w+_get_type$", s))
    for name in missing:
        print(f"{sections_path}: public symbol {name} is not listed")
    for name in stale:
        print(f"{sections_path}: {name} is listed but not declared in any public header")
    if missing or stale:
        return 1
    print(f"all {len(declared)} public symbols are listed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
