"""Print the README's command block named NAME: the ```bash block right after the line
``<!-- ci: NAME -->``. CI runs the README's own commands, so the two cannot drift apart."""

import pathlib
import re
import sys

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def block(name: str) -> str:
    text = README.read_text(encoding="utf-8")
    match = re.search(rf"<!-- ci: {re.escape(name)} -->\s*```bash\n(.*?)```", text, re.S)
    if match is None:
        sys.exit(f"README.md has no block marked <!-- ci: {name} -->")
    return match.group(1)


if __name__ == "__main__":
    sys.stdout.write(block(sys.argv[1]))
