"""Cases for the compose-style `.env` parser."""

from __future__ import annotations

import pathlib

import pytest

from devstack.config.envfile import EnvEntry, EnvFileError, parse_env_file, parse_env_text

OUTER: dict[str, str] = {"HOME": "/home/dev", "SHELL_ONLY": "from-shell", "EMPTY": ""}


def parse(text: str, lookup: dict[str, str] | None = OUTER) -> list[tuple[str, str, int]]:
    entries = parse_env_text(text, ".env", None if lookup is None else lookup.get)
    return [(e.name, e.value, e.line) for e in entries]


CASES: list[tuple[str, str, list[tuple[str, str, int]]]] = [
    # (id, text, [(name, value, line)])
    ("empty file", "", []),
    ("blank and comment lines", "\n  \n# comment\n   # indented comment\n\t\n", []),
    ("simple", "A=1\nB=two\n", [("A", "1", 1), ("B", "two", 2)]),
    ("no trailing newline", "A=1", [("A", "1", 1)]),
    ("line numbers skip comments", "# c\n\nA=1\n# c\nB=2", [("A", "1", 3), ("B", "2", 5)]),
    ("empty value", "A=\nB=  \n", [("A", "", 1), ("B", "", 2)]),
    ("whitespace trimmed", "  A  =  spaced value  \n", [("A", "spaced value", 1)]),
    ("tabs trimmed", "\tA\t=\tv\t\n", [("A", "v", 1)]),
    (
        "equals in value",
        "URL=postgres://h:5432/db?ssl=off",
        [("URL", "postgres://h:5432/db?ssl=off", 1)],
    ),
    (
        "export prefix",
        "export A=1\nexport\tB=2\n  export C=3",
        [("A", "1", 1), ("B", "2", 2), ("C", "3", 3)],
    ),
    (
        "export is part of a longer key",
        "exportFOO=1\nexport_BAR=2",
        [("exportFOO", "1", 1), ("export_BAR", "2", 2)],
    ),
    ("key named export", "export=1", [("export", "1", 1)]),
    ("lone export is a bare key", "export \nexport # c\nA=1", [("A", "1", 3)]),
    (
        "dotted and dashed keys",
        "a.b=1\nmy-key=2\n_x=3",
        [("a.b", "1", 1), ("my-key", "2", 2), ("_x", "3", 3)],
    ),
    ("lowercase key", "foo=bar", [("foo", "bar", 1)]),
    # inline comments in unquoted values
    ("inline comment", "A=bar # the bar\n", [("A", "bar", 1)]),
    ("hash without space is data", "A=bar#baz\n", [("A", "bar#baz", 1)]),
    ("tab hash is data", "A=bar\t#baz\n", [("A", "bar\t#baz", 1)]),
    ("value starting with hash", "A=#nocomment\n", [("A", "#nocomment", 1)]),
    ("leading space then hash", "A= #x\n", [("A", "#x", 1)]),
    ("quotes inside unquoted", 'A=it\'s "fine"', [("A", 'it\'s "fine"', 1)]),
    # single quotes
    ("single quoted", "A='a b  '", [("A", "a b  ", 1)]),
    ("single quoted literal", r"A='$HOME \n ${X:?no} \\'", [("A", r"$HOME \n ${X:?no} \\", 1)]),
    ("single quoted hash", "A='x # y' # comment", [("A", "x # y", 1)]),
    ("single quoted empty", "A=''", [("A", "", 1)]),
    (
        "single quoted multi-line",
        "A='one\ntwo\n  three'\nB=4",
        [("A", "one\ntwo\n  three", 1), ("B", "4", 4)],
    ),
    ("double quote inside single", "A='say \"hi\"'", [("A", 'say "hi"', 1)]),
    # double quotes
    ("double quoted", 'A="a b  "', [("A", "a b  ", 1)]),
    ("double quoted empty", 'A=""', [("A", "", 1)]),
    ("double quoted hash", 'A="x # y" # comment', [("A", "x # y", 1)]),
    ("comment right after quote", 'A="x"# comment', [("A", "x", 1)]),
    ("space after quote", 'A="x"   ', [("A", "x", 1)]),
    ("escapes", r'A="1\n2\t3\r4\\5\"6\$7"', [("A", '1\n2\t3\r4\\5"6$7', 1)]),
    ("unknown escape kept", r'A="C:\Users\x"', [("A", r"C:\Users\x", 1)]),
    ("escaped backslash before quote", r'A="x\\"', [("A", "x\\", 1)]),
    ("single quote inside double", 'A="it\'s"', [("A", "it's", 1)]),
    ("double quoted multi-line", 'A="one\ntwo"\nB=3', [("A", "one\ntwo", 1), ("B", "3", 3)]),
    (
        "multi-line entries keep counting",
        "A='x\ny'\n\nB=\"p\n\nq\"\nC=z",
        [("A", "x\ny", 1), ("B", "p\n\nq", 4), ("C", "z", 7)],
    ),
    # interpolation
    ("interpolate unquoted", "A=$HOME/x", [("A", "/home/dev/x", 1)]),
    ("interpolate double quoted", 'A="${HOME}/x y"', [("A", "/home/dev/x y", 1)]),
    ("escaped dollar in double quotes", r'A="\$HOME \${HOME}"', [("A", "$HOME ${HOME}", 1)]),
    ("double dollar", "A=$$HOME", [("A", "$HOME", 1)]),
    (
        "earlier variables",
        'A=1\nB=${A}2\nC="$B-3"',
        [("A", "1", 1), ("B", "12", 2), ("C", "12-3", 3)],
    ),
    ("later variables not visible", "B=[${A}]\nA=1", [("B", "[]", 1), ("A", "1", 2)]),
    ("file wins over lookup", "HOME=/file\nA=$HOME", [("HOME", "/file", 1), ("A", "/file", 2)]),
    ("falls back to lookup", "A=$SHELL_ONLY", [("A", "from-shell", 1)]),
    ("defaults", "A=${NOPE:-dflt}\nB=${EMPTY-kept}", [("A", "dflt", 1), ("B", "", 2)]),
    ("interpolated values not re-read", "A=$$B\nC=$A", [("A", "$B", 1), ("C", "$B", 2)]),
    (
        "single quoted value used by later ones",
        "A='$HOME'\nB=$A",
        [("A", "$HOME", 1), ("B", "$HOME", 2)],
    ),
    ("escape sequence inside default", r'A="${NOPE:-x\ty}"', [("A", "x\ty", 1)]),
    # bare keys
    ("bare key inherited", "SHELL_ONLY\n", [("SHELL_ONLY", "from-shell", 1)]),
    ("bare key undefined skipped", "NOPE\nA=1", [("A", "1", 2)]),
    ("bare key empty inherited", "EMPTY", [("EMPTY", "", 1)]),
    (
        "bare key with export and comment",
        "export SHELL_ONLY # doc",
        [("SHELL_ONLY", "from-shell", 1)],
    ),
    (
        "bare key feeds later values",
        "SHELL_ONLY\nA=${SHELL_ONLY}!",
        [("SHELL_ONLY", "from-shell", 1), ("A", "from-shell!", 2)],
    ),
    # duplicates
    ("duplicates kept in order", "A=1\nA=2\nB=$A", [("A", "1", 1), ("A", "2", 2), ("B", "2", 3)]),
    # line endings
    ("windows line endings", "A=1\r\nB='x'\r\n", [("A", "1", 1), ("B", "x", 2)]),
    ("bom skipped", "\ufeffA=1", [("A", "1", 1)]),
]


@pytest.mark.parametrize(("text", "expected"), [pytest.param(t, e, id=i) for i, t, e in CASES])
def test_parse_env_text(text: str, expected: list[tuple[str, str, int]]) -> None:
    assert parse(text) == expected


def test_without_lookup_only_earlier_variables_are_seen() -> None:
    text = "A=1\nB=$A$HOME\nSHELL_ONLY\n"
    assert parse(text, lookup=None) == [("A", "1", 1), ("B", "1", 2)]


def test_entries_are_env_entry_values() -> None:
    entries = parse_env_text("A=1\n", "x.env")
    assert entries == [EnvEntry(name="A", value="1", line=1)]


ERRORS: list[tuple[str, str, int, str]] = [
    # (id, text, line, message fragment)
    ("yaml style", "A=1\nKEY: value\n", 2, "invalid variable name 'KEY: value'"),
    ("yaml style with equals", "KEY: a=b", 1, "'KEY: VALUE' form is not supported"),
    ("space in key", "\nMY KEY=1", 2, "invalid variable name 'MY KEY'"),
    ("key starts with digit", "1A=1", 1, "invalid variable name '1A'"),
    ("bad bare key", "A=1\n\nbad$key\n", 3, "invalid variable name 'bad$key'"),
    ("missing key", "=value", 1, "missing variable name before '='"),
    ("unterminated double", 'A=1\nB="abc\nC=2\n', 2, "unterminated double-quoted value for B"),
    ("unterminated single", "A='abc", 1, "unterminated single-quoted value for A"),
    ("escaped quote does not close", 'A="abc\\"', 1, "unterminated double-quoted value for A"),
    ("text after double quote", 'A="x" y', 1, "unexpected text after the closing quote of A: 'y'"),
    ("text after single quote", "A='x'y", 1, "unexpected text after the closing quote of A: 'y'"),
    ("text after multi-line quote", "A='x\ny' z\n", 2, "closing quote of A"),
    (
        "malformed interpolation",
        "A=1\nB=${A",
        2,
        "in value of B: invalid interpolation format for '${A'",
    ),
    ("malformed in double quotes", 'A="${}"', 1, "invalid interpolation format for '${}'"),
    (
        "required missing",
        "\n\nA=${NOPE:?set NOPE}",
        3,
        "required variable NOPE is missing a value: set NOPE",
    ),
    (
        "required in multi-line value",
        'X=1\nA="a\n${NOPE?}"',
        2,
        "required variable NOPE is missing a value",
    ),
]


@pytest.mark.parametrize(
    ("text", "line", "fragment"), [pytest.param(t, n, f, id=i) for i, t, n, f in ERRORS]
)
def test_errors_are_located(text: str, line: int, fragment: str) -> None:
    with pytest.raises(EnvFileError) as info:
        parse_env_text(text, "conf/.env", OUTER.get)
    err = info.value
    assert err.file == "conf/.env"
    assert err.line == line
    assert fragment in err.message
    assert str(err) == f"conf/.env:{line}: {err.message}"


def test_interpolation_error_is_chained() -> None:
    with pytest.raises(EnvFileError) as info:
        parse_env_text("A=${NOPE:?x}", ".env")
    assert info.value.__cause__ is not None


def test_parse_env_file(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "app.env"
    path.write_bytes('\ufeff# settings\nGREETING="héllo\nworld"\nNAME=$USER\n'.encode())
    entries = parse_env_file(path, {"USER": "dev"}.get)
    assert entries == [
        EnvEntry("GREETING", "héllo\nworld", 2),
        EnvEntry("NAME", "dev", 4),
    ]


def test_parse_env_file_crlf(tmp_path: pathlib.Path) -> None:
    path = tmp_path / ".env"
    path.write_bytes(b'A=1\r\nB="x\r\ny"\r\n')
    assert [(e.name, e.value, e.line) for e in parse_env_file(path)] == [
        ("A", "1", 1),
        ("B", "x\ny", 2),
    ]


def test_parse_env_file_error_names_path(tmp_path: pathlib.Path) -> None:
    path = tmp_path / ".env"
    path.write_text("OK=1\nBROKEN='x\n", encoding="utf-8")
    with pytest.raises(EnvFileError) as info:
        parse_env_file(path)
    assert str(info.value).startswith(f"{path}:2: ")


def test_parse_env_file_missing_raises_oserror(tmp_path: pathlib.Path) -> None:
    with pytest.raises(FileNotFoundError):
        parse_env_file(tmp_path / "absent.env")
