"""Code for a code step that searches every object of its own process for given strings."""

from __future__ import annotations

REAL_IMPORT = "json.scanner.re.enum.sys.modules['builtins'].__import__"


def snoop_code(*needles: tuple[str, str]) -> str:
    """Python for a code step returning, per needle, whether its process holds a string containing it.

    Each needle is given in two parts joined at run time, so the code's own constants never contain it.
    Strings are found as referents of the objects the garbage collector tracks, which reaches the
    untracked dicts and tuples of plain values too.
    """
    wanted = ", ".join(f"''.join([{first!r}, {second!r}])" for first, second in needles)
    return (
        "import json\n"
        "def main():\n"
        f"    gc = {REAL_IMPORT}('gc')\n"
        f"    wanted = [{wanted}]\n"
        "    found = [False] * len(wanted)\n"
        "    for o in gc.get_objects():\n"
        "        if o is wanted:\n"
        "            continue\n"
        "        for r in gc.get_referents(o):\n"
        "            if isinstance(r, str):\n"
        "                texts = [r]\n"
        "            elif isinstance(r, dict) and not gc.is_tracked(r):\n"
        "                texts = [*r.keys(), *r.values()]\n"
        "            elif isinstance(r, (list, tuple)) and not gc.is_tracked(r):\n"
        "                texts = list(r)\n"
        "            else:\n"
        "                continue\n"
        "            for t in texts:\n"
        "                for i, n in enumerate(wanted):\n"
        "                    if isinstance(t, str) and n in t:\n"
        "                        found[i] = True\n"
        "    return found\n"
    )
