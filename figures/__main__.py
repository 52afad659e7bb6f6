"""python -m figures: list the figure scripts, or run several (--all, or by name or number).

  python -m figures                       the list, with each figure's title
  python -m figures --all [--quick]       every figure, one after the other
  python -m figures 4 mode_collapse       the figures named (numbers or names)
"""

import importlib
import json
import sys
import time

from figures import FIGURES
from figures import common


def title(name):
    """The first line of a figure module's docstring (read without importing TensorFlow)."""
    import ast
    import os

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), f"{name}.py")
    with open(path) as f:
        doc = ast.get_docstring(ast.parse(f.read())) or ""
    return doc.splitlines()[0] if doc else ""


def resolve(selection):
    by_number = {str(number): name for number, name in FIGURES}
    names = {name for _, name in FIGURES}
    chosen = []
    for item in selection:
        name = by_number.get(item, item)
        if name not in names:
            raise common.UsageError(f"unknown figure {item!r}; run `python -m figures` "
                                    f"for the list")
        chosen.append(name)
    return chosen


def main(argv=None):
    parser = common.argument_parser("", __doc__)
    parser.prog = "python -m figures"
    parser.add_argument("figures", nargs="*", help="figure numbers or names")
    parser.add_argument("--all", action="store_true", help="run every figure")
    args = parser.parse_args(argv)
    try:
        if args.all and args.figures:
            raise common.UsageError("give figure names or --all, not both")
        chosen = [name for _, name in FIGURES] if args.all else resolve(args.figures)
        if args.set and len(chosen) != 1:
            raise common.UsageError("--set applies to one figure's settings; name one figure")
    except common.UsageError as error:
        common.fail(parser.prog, error)
    if not chosen:
        for number, name in FIGURES:
            print(f"{number:>2}  {name:<28} {title(name)}")
        print("\nRun one: python -m figures.<name> [--quick]; all: python -m figures --all")
        return
    results = {}
    for name in chosen:
        start = time.time()
        module = importlib.import_module(f"figures.{name}")
        try:
            record = common.run_figure(module, args.output_dir, args.quick, args.seed,
                                       args.set, command=f"python -m figures.{name}"
                                       + (" --quick" if args.quick else ""))
        except (common.UsageError, common.files.WriteError) as error:
            common.fail(f"python -m figures.{name}", error)
        results[name] = dict(seconds=round(time.time() - start, 1), claims=record["claims"],
                             png=record["files"]["png"])
        print(f"{name}: {results[name]['seconds']} s, {record['files']['png']}",
              file=sys.stderr, flush=True)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
