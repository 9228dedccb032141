"""Turns the README's walkthrough into a bash script, literally.

Fenced blocks preceded by an HTML comment `<!-- walkthrough: ... -->` are
the walkthrough:

  <!-- walkthrough: run -->                 a sh block, run as written
  <!-- walkthrough: run expect="TEXT" -->   ... and its output must contain TEXT
  <!-- walkthrough: write PATH -->          the block is written to PATH
  <!-- walkthrough: client NAME -->         a JSON client config, saved as
                                            $CLIENTS/NAME.json for the check
  <!-- walkthrough: inspector -->           a sh block run against the host
                                            the check serves ($INSPECTOR_URL)

Usage: extract.py README.md > walkthrough.sh
"""

import re
import shlex
import sys

MARKER = re.compile(r"^<!-- walkthrough: (\w+)(?: (.*?))? -->$")
FENCE = re.compile(r"^```")


def blocks(lines):
    """(kind, argument, line number, body) for each marked block."""
    i = 0
    while i < len(lines):
        match = MARKER.match(lines[i].strip())
        if not match:
            i += 1
            continue
        kind, argument, at = match.group(1), match.group(2) or "", i + 1
        i += 1
        if i >= len(lines) or not FENCE.match(lines[i]):
            sys.exit(f"README line {at}: a walkthrough marker must be followed by a fenced block")
        i += 1
        body = []
        while i < len(lines) and not FENCE.match(lines[i]):
            body.append(lines[i])
            i += 1
        if i >= len(lines):
            sys.exit(f"README line {at}: unterminated block")
        i += 1
        yield kind, argument, at, "\n".join(body) + "\n"


def heredoc(target, body):
    """`cat > TARGET` of body; TARGET is already shell syntax."""
    assert "WALKTHROUGH_EOF" not in body
    return f"cat > {target} <<'WALKTHROUGH_EOF'\n{body}WALKTHROUGH_EOF\n"


def main():
    lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
    out = ["set -euo pipefail"]
    count = 0
    for kind, argument, at, body in blocks(lines):
        count += 1
        out.append(f"step 'README line {at}: {kind} {argument}'")
        if kind == "run":
            expect = re.fullmatch(r'expect="(.*)"', argument) if argument else None
            if argument and not expect:
                sys.exit(f"README line {at}: unknown run argument {argument!r}")
            if expect:
                out.append("output=\"$(\n" + body + ")\"")
                out.append('printf "%s\\n" "$output"')
                out.append(
                    f"expect_in {shlex.quote(expect.group(1))} \"$output\" {at}"
                )
            else:
                out.append(body)
        elif kind == "write":
            out.append(heredoc(shlex.quote(argument), body))
        elif kind == "client":
            out.append(heredoc('"$CLIENTS"/' + shlex.quote(argument + ".json"), body))
        elif kind == "inspector":
            out.append("inspector_block <<'WALKTHROUGH_EOF'\n" + body + "WALKTHROUGH_EOF")
        else:
            sys.exit(f"README line {at}: unknown walkthrough marker {kind!r}")
    if count == 0:
        sys.exit("the README has no walkthrough markers")
    print("\n".join(out))


if __name__ == "__main__":
    main()
