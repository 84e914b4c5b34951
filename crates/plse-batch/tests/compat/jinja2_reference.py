"""Renders a PLSE v2.0 pattern as the Python engine did (PyYAML + Jinja2 with `trim_blocks`
and `lstrip_blocks`, the default `Undefined`), with the parameters `plse-batch` drew, and
reports every field where `plse-batch render --json` differs.

Usage: python jinja2_reference.py PATTERN.yaml < record.json   (prints JSON: {"diffs": [...]})
"""

import json
import sys

import jinja2
import yaml

ORDER = ["imports", "data_setup", "training_loop", "evaluation", "model_definition"]


def render(env, text, ctx):
    return env.from_string(text).render(**ctx)


def code_of(env, pattern, ctx):
    if "template" in pattern:
        return render(env, pattern["template"], ctx)
    parts = [render(env, pattern["components"].get(name) or "", ctx) for name in ORDER]
    return "\n\n".join(p for p in parts if p.strip())


def requires_of(env, pattern, ctx):
    lines = []
    for entry in pattern.get("requires") or []:
        for line in render(env, entry, ctx).splitlines():
            line = line.strip()
            if line and (line.startswith(("import ", "from ")) or all(c.isalnum() or c in "._ " for c in line)):
                lines.append(line)
    return lines


def strip_prepended(code, requires):
    """The code without the import lines plse-batch put at its top for `requires`."""
    statements = {r if r.startswith(("import ", "from ")) else f"import {r}" for r in requires}
    lines = code.split("\n")
    while lines and (lines[0] in statements or lines[0] == ""):
        lines.pop(0)
    return "\n".join(lines)


def main():
    path = sys.argv[1]
    with open(path, encoding="utf-8") as f:
        pattern = yaml.safe_load(f)
    record = json.load(sys.stdin)
    env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True)
    diffs = []
    sides = [(None, record)]
    if record.get("pair"):
        sides = [("flawed", record["pair"]["flawed"]), ("fixed", record["pair"]["fixed"])]
    for side, got in sides:
        ctx = dict(record["parameters"])
        if side is not None:
            ctx["is_anti_pattern"] = side == "flawed"
        want = {"instruction": render(env, pattern["instruction"], ctx)}
        code = code_of(env, pattern, ctx)
        want["code"] = code.strip("\n")
        ours = got["code"]
        if record["artifact"]["kind"] == "python":
            ours = strip_prepended(ours, requires_of(env, pattern, ctx) + [r for r in pattern.get("requires") or [] if "{" not in r])
        test_ctx = dict(ctx, __raw_code__=got["code"], SCRIPT_PATH=record["artifact"]["path"] or "sample.py")
        snippets = (pattern.get("validation") or {}).get("unit_test_snippets") or []
        want_tests = [render(env, t, test_ctx) for t in snippets]
        for field, w, g in [("instruction", want["instruction"], got["instruction"]), ("code", want["code"], ours.strip("\n"))]:
            if w != g:
                diffs.append({"side": side, "field": field, "jinja2": w, "plse": g})
        for i, (w, g) in enumerate(zip(want_tests, got["tests"])):
            if w != g:
                diffs.append({"side": side, "field": f"tests[{i}]", "jinja2": w, "plse": g})
        if len(want_tests) != len(got["tests"]):
            diffs.append({"side": side, "field": "tests", "jinja2": len(want_tests), "plse": len(got["tests"])})
    print(json.dumps({"diffs": diffs}, indent=1))


if __name__ == "__main__":
    main()
