#!/usr/bin/env python3
"""What PyYAML's yaml.safe_load gives for several hundred YAML scalars and documents.

Sygnal reads sygnal.yaml with yaml.safe_load (PyYAML's YAML 1.1 resolver). Herald's reader (src/config/yaml.ts) must
give the same data; test/config/yaml.test.ts checks it against every row of the table this script writes,
test/config/pyyaml-expectations.json, so that the test needs no Python.

Regenerate, after adding forms below or to check another PyYAML version:

    python3 scripts/pyyaml-expectations.py

then update the row count asserted in test/config/yaml.test.ts, and commit both.

A row is {"yaml": <document>, "data": <result>} or, when safe_load raises, {"yaml": <document>, "error": <why>}.
Results are JSON, with tagged objects for what JSON cannot carry:
  - integers beyond +-(2^53 - 1): {"$int": "<decimal digits>"};
  - infinities and NaN: {"$float": "inf" | "-inf" | "nan"};
  - dates and date-times: {"$timestamp": "<Python's isoformat()>"};
  - !!binary: {"$binary": "<base64>"}; !!set: {"$set": [<members, sorted>]}; !!omap and !!pairs: {"$pairs": [[k, v], ...]}.
Mapping keys become strings as Python's json module writes them (True -> "true", None -> "null", 1.5 -> "1.5"; dates
as isoformat()); when two keys give the same string, the later one wins, as when JSON.parse reads json.dumps' output.
"""

import base64
import datetime
import json
import math
import os

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
MAX_SAFE_INTEGER = 2**53 - 1

# Plain scalars, each tested as a value (`v: <form>`), as a key (`<form>: v`), in a flow sequence (`v: [<form>]`) and
# quoted both ways (`v: '<form>'`, `v: "<form>"`) when it has no quote or backslash.
SCALARS = [
    # booleans: PyYAML's are yes/no, true/false, on/off in three spellings each; y and n are strings
    *[spelling for word in ["yes", "no", "true", "false", "on", "off", "y", "n"]
      for spelling in [word, word.capitalize(), word.upper()]],
    "yEs", "nO", "tRUE", "fAlse", "oN", "oFF", "TRue", "ye", "yess", "tru", "of", "+yes", "-no", "yes!",
    # null
    "", "~", "null", "Null", "NULL", "nULL", "NuLL", "none", "None", "nil", "~~", "-~",
    # integers: decimal, signs, underscores
    "0", "-0", "+0", "1", "-1", "+1", "12", "+12", "-12", "1_000", "1__000", "1_000_", "-1_000", "+1_000",
    "_1000", "1_", "1__", "+_1", "-_1", "1 000", "1,000", "12abc", "1e", "12.", "012.",
    # integers: leading zero means octal; an 8 or 9 makes it a string
    "00", "007", "012", "-012", "+012", "0_7", "0_12", "0__7", "08", "09", "018", "0_8", "01234567", "0123456789",
    "0755", "-0755", "0o17", "0O17", "0o8",
    # integers: hexadecimal and binary
    "0x1A", "0x1a", "0X1A", "0xff_ff", "0x_1A", "-0x1A", "+0x1A", "0x", "0x_", "0xG", "0x1G",
    "0b101", "0B101", "0b_101", "0b1_0_1", "-0b101", "+0b101", "0b", "0b_", "0b102",
    # integers: sexagesimal (base 60)
    "1:20", "1:20:30", "-1:20", "+1:20", "190:20:30", "1_0:20", "1:2_0", "1:5", "1:05", "1:59", "1:60", "1:0",
    "1:00:00", "0:20", "00:20", "01:20", "1:20:", ":20", "1::20", "1:200", "12:34:56:07",
    # integers beyond 2^53
    "9007199254740991", "9007199254740992", "9007199254740993", "-9007199254740993", "12345678901234567890",
    "0x7FFFFFFFFFFFFFFFFF", "0777777777777777777777", "0b" + "1" * 70, "123456789012345678901234:59",
    # floats: a dot is required, an exponent needs its sign
    "1.0", "1.", "-1.5", "+1.5", ".5", "-.5", "+.5", "0.5", "00.5", "01.5", "09.5", "0.", "-0.0", "+0.0", "0.0",
    "1.5e+3", "1.5e-3", "1.5E+3", "1.5e3", "1.0e5", "1.e+5", ".5e+3", ".5e3", "1e5", "1E5", "2E10", "1e+5",
    "-1e5", "12345E6789", "1.0e+400", "-1.0e+400", "4.9e-324", "2.5e-324", "1.7976931348623157e+308",
    "1_000.5", "1_000.5_0", "1._5", "1__.5", "._5", ".", "-.", "+.", "..", "1.2.3", "1.0.0", "0.1",
    "0.30000000000000004", "6.8523015e+5", "685.230_15e+03", "685_230.15", "10000000000000000.0", "0.0001",
    "0.00001", "123456789.123456789", "1.5e+3_0", "1.5e+_3",
    # floats: infinity and not-a-number
    ".inf", ".Inf", ".INF", "-.inf", "+.inf", "-.Inf", "+.INF", ".iNf", "inf", "-inf", "Infinity", ".infinity",
    ".nan", ".NaN", ".NAN", ".Nan", "-.nan", "+.nan", "nan", "NaN",
    # floats: sexagesimal
    "1:20.5", "190:20:30.15", "-1:20.5", "+1:20.5", "0:20.5", "1:20.", "1:60.5", "1_0:2_0.5", "1:20.5e+3",
    # timestamps
    "2001-12-14", "2002-12-14", "2001-12-14t21:59:43.10-05:00", "2001-12-14 21:59:43.10 -5",
    "2001-12-15T02:59:43.1Z", "2001-12-15 2:59:43.10", "2001-12-14 21:59:43", "2001-12-14T21:59:43",
    "2001-12-14T21:59:43Z", "2001-12-14T21:59:43z", "2001-12-14T21:59:43+05", "2001-12-14T21:59:43+05:30",
    "2001-12-14T21:59:43 +05:30", "2001-12-14T21:59:43-00:00", "2001-12-14T21:59:43+23:59",
    "2001-12-14T21:59:43+24:00", "2001-12-14T21:59:43+5:3", "2001-12-14 21:59:43.123456789",
    "2001-12-14 21:59:43.", "2001-12-14 21:59:43.000", "2001-12-14  21:59:43", "2001-12-14T1:2:3",
    "2001-12-14T21:5:43", "2001-12-14T21:59", "2001-1-1", "2001-01-1", "2001-1-01 1:00:00", "0001-01-01",
    "9999-12-31", "2001-13-01", "2001-02-30", "2000-02-29", "2001-02-29", "2001-12-14T25:00:00",
    "2001-12-14T23:60:00", "2001-12-14T23:59:60", "20011214", "2001/12/14", "14-12-2001", "2001-12-14x",
    # strings that look like something else
    "v1", "1.2.3.4", "127.0.0.1", "::1", "::", "0.0.0.0", "$12", "12%", "1/2", "1-2", "-", "+", "--", "12 # a comment",
    "12#x", "a b", "a  b", "<<", "=", "==", "@", "`", "%", "!", "&", "*", "?", "|", ">", "a:b", "http://x:80/",
    "*x", "&x y",
]

# Whole documents: syntax, collections, anchors, merges, repeated keys, tags, and sygnal.yaml's own shapes; then the
# file test/config/sygnal-sample-shape.yaml as a whole.
DOCUMENTS = [
    # empty and near-empty
    "", "\n", "# only a comment\n", "---\n", "--- \n...\n", "~\n", "null\n", "12\n", "yes\n", "[]\n", "{}\n",
    "---\na: 1\n...\n", "---\na: 1\n---\nb: 2\n", "%YAML 1.1\n---\na: yes\n", "%YAML 1.2\n---\na: yes\n",
    "%YAML 2.0\n---\na: 1\n", "\ufeffa: 1\n",
    # empty values and sections
    "a:\n", "a:\nb:\n", "a:\n  b:\n", "a:\n  # all commented out\n  # b: 1\n", "a: []\nb: {}\n", "a: [ ]\nb: { }\n",
    "- \n- a\n-\n", "a:\n  -\n  - b\n", "? a\n", "? a\n? b\n: 2\n", "{a, b: 1}\n", "[a, , b]\n", "[a, b, ]\n",
    # the sections of a sygnal.yaml left empty
    "log:\nhttp:\nmetrics:\napps:\n",
    "log:\n  setup:\n  access:\nmetrics:\n  prometheus:\n  opentracing:\n  sentry:\nproxy:\n",
    "apps:\n  com.example.app:\n    type: gcm\n    api_version: v1\n    api_key:\n    fcm_options:\n",
    # repeated keys: the last wins
    "a: 1\na: 2\n", "a: 1\nb: 2\na: 3\n", "a:\n  x: 1\na:\n  y: 2\n", "{a: 1, a: 2}\n", "a: 1\n'a': 2\n\"a\": 3\n",
    "1: a\n1: b\n", "1: a\n1.0: b\n", "1: a\n0x1: b\n01: c\n", "yes: a\ntrue: b\nOn: c\n", "1: a\nyes: b\n",
    "0: a\nno: b\n0.0: c\n", "'1': a\n1: b\n", "1: a\n'1': b\n", "null: a\n~: b\n'null': c\n",
    "true: a\n'true': b\n", "2001-12-14: a\n'2001-12-14': b\n",
    "2001-12-14 00:00:00Z: a\n2001-12-14 01:00:00+01:00: b\n", "2001-12-14 00:00:00: a\n2001-12-14 00:00:00Z: b\n",
    "1.5: a\n1.50: b\n15e-1: c\n", ".inf: a\n.Inf: b\n", "-0: a\n0: b\n", "-0.0: a\n0.0: b\n",
    "1e16: a\n10000000000000000.0: b\n", "0.0001: a\n0.00001: b\n1.0e+16: c\n",
    # keys of other types
    "y: 1\nn: 2\non: 3\noff: 4\n", "~: a\n", "? \n: a\n", ": a\n", "[a]: 1\n", "? [a, b]\n: 1\n",
    "? {a: 1}\n: 1\n", "{[a]: 1}\n", "__proto__: 1\n", "__proto__:\n  polluted: yes\n", "constructor: 1\n",
    "toString: x\nhasOwnProperty: y\n", "0x10: a\n0o10: b\n010: c\n", "1_000: a\n1000: b\n",
    # anchors and aliases
    "a: &x 12\nb: *x\n", "a: &x {k: v}\nb: *x\n", "a: &x [1, 2]\nb: *x\nc: [*x, *x]\n", "a: *x\nb: &x 1\n",
    "a: &x 1\nb: &x 2\nc: *x\n", "a: &x\nb: *x\n", "a: &x yes\nb: *x\n", "&x a: *x\n", "a: &x !!str 12\nb: *x\n",
    "a: &x 'quoted'\nb: *x\n",
    # merge keys
    "base: &b {x: 1, y: 2}\nm:\n  <<: *b\n  y: 3\n",
    "base: &b {x: 1, y: 2}\nm:\n  y: 3\n  <<: *b\n",
    "a: &a {x: 1, z: a}\nb: &b {x: 2, y: b}\nm:\n  <<: [*a, *b]\n",
    "a: &a {x: 1}\nb: &b {x: 2}\nm:\n  <<: [*b, *a]\n  w: 0\n",
    "a: &a {x: 1}\nm:\n  <<: *a\n  <<: {x: 2}\n",
    "a: &a {x: 1}\nm:\n  <<: {x: 2}\n  <<: *a\n",
    "a: &a {x: 1}\nm:\n  x: 0\n  <<: *a\n  x: 3\n",
    "a: &a {x: 1, <<: {y: 2, x: 9}}\nm:\n  <<: *a\n",
    "m:\n  <<: {x: 1}\n", "m: {<<: {x: 1}, y: 2}\n", "m:\n  '<<': {x: 1}\n", "m:\n  \"<<\": {x: 1}\n",
    "m:\n  <<: 1\n", "m:\n  <<: [1]\n", "m:\n  <<: [[a]]\n", "m:\n  <<:\n", "m:\n  <<: []\n", "m:\n  <<: {}\n",
    "m:\n  <<: [{x: 1}, {x: 2, y: 2}]\n  <<: {y: 3}\n", "m: &m\n  x: 1\nn:\n  <<: *m\n  <<: *m\n",
    "- &a {x: 1}\n- <<: *a\n  y: 2\n", "a: &a {1: one, yes: y}\nm:\n  <<: *a\n  1.0: uno\n",
    # the defaults section pattern
    "defaults: &app\n  type: gcm\n  api_version: v1\n  project_id: p\napps:\n  a:\n    <<: *app\n  b:\n    <<: *app\n    project_id: q\n",
    # explicit tags
    "v: !!str 12\n", "v: !!str yes\n", "v: !!str\n", "v: !!str ~\n", "v: !!int '12'\n", "v: !!int '0x1A'\n",
    "v: !!int '1_000'\n", "v: !!int '012'\n", "v: !!int '09'\n", "v: !!int '1:20'\n", "v: !!int 'abc'\n",
    "v: !!int ''\n", "v: !!int ' 12 '\n", "v: !!int '-0b11'\n", "v: !!float '1'\n", "v: !!float 1e5\n",
    "v: !!float '.inf'\n", "v: !!float '-.INF'\n", "v: !!float '1:30'\n", "v: !!float 'abc'\n",
    "v: !!float '1_0.5'\n", "v: !!float ' 2.5 '\n", "v: !!bool 'yes'\n", "v: !!bool 'TRUE'\n", "v: !!bool tRuE\n",
    "v: !!bool 'y'\n", "v: !!bool ''\n", "v: !!null 'x'\n", "v: !!null\n", "v: !!timestamp '2001-12-14'\n",
    "v: !!timestamp 'x'\n", "v: !!timestamp '2001-12-14 21:59:43.10 -5'\n", "v: !!binary aGVsbG8=\n",
    "v: !!set {a, b}\n", "v: !!omap [a: 1, b: 2]\n", "v: !!pairs [a: 1, a: 2]\n", "v: !!map {a: 1}\n",
    "v: !!seq [a]\n", "v: !!str [a]\n", "v: !!map [a]\n", "v: !!seq {a: 1}\n", "v: !!int [1]\n", "v: !foo x\n",
    "v: !foo {a: 1}\n", "v: !!python/name:os.system\n", "v: !!python/object/apply:os.system ['true']\n",
    "v: !<tag:yaml.org,2002:int> '12'\n", "v: !<tag:yaml.org,2002:str> 12\n", "v: ! 12\n", "v: ! yes\n",
    "v: ! '12'\n", "v: ! \"yes\"\n", "v: ! |\n  12\n", "v: ! [12]\n", "%TAG !e! tag:yaml.org,2002:\n---\nv: !e!int '7'\n",
    "v: !!merge <<\n", "v: !!value =\n", "=: 1\n", "v: =\n", "v: <<\n",
    # quoted and block scalars
    "v: 'it''s'\n", "v: \"say \\\"hi\\\"\"\n", "v: ' a '\n", "v: \"  padded  \"\n", "v: ''\n", "v: \"\"\n",
    "v: \"\\t\\n\\r\\\\\"\n", "v: \"\\x41\\u00e9\\U0001F600\"\n", "v: \"a\\/b\"\n", "v: \"\\N\\_\\L\\P\"\n",
    "v: \"\\e\\0\\a\\v\\b\\f\\ \"\n", "v: \"\\q\"\n", "v: \"a\\\n  b\"\n", "v: \"a\n  b\"\n", "v: \"a\n\n  b\"\n",
    "v: 'a\n  b'\n", "v: 'a\n\n  b'\n", "v: a\n  b\n", "v: a\n\n  b\n", "v: a #c\n  b\n", "v: |\n  a\n  b\n",
    "v: |-\n  a\n  b\n", "v: |+\n  a\n  b\n\n", "v: >\n  a\n  b\n\n  c\n", "v: >-\n  a\n  b\n", "v: >\n  a\n    b\n  c\n",
    "v: |2\n   a\n  b\n", "v: |\n  yes\n", "v: >\n  12\n", "v: | # comment\n  a\n", "v: |\n\n  a\n", "v: |\n",
    "v: \"\\u2028\"\n", "v: \"a\u2028b\"\n", "v: \"a\x85b\"\n", "v: a\u2028b\n", "v: a\x85b\n", "v: caf\u00e9\n",
    "v: \U0001F600\n", "v: \"\\ud800\"\n",
    # whitespace and comments
    "v:   12   \n", "v: 12 # a comment\n", "v: 12#x\n", "v: 'a' # c\n", "v:\t12\n", "v: 12\t\n", "a:\n\tb: 1\n",
    "v: a\tb\n", "v: [1,2]\n", "v: [1 ,2]\n", "v: {a: 1,b: 2}\n", "v: {a:1}\n", "{\"a\":1}\n", "{\"a\": 1, \"b\": [true, null]}\n",
    "v: [a, [b, c], {d: e}]\n", "v: {a: [1, 2], b: {c: d}}\n", "a: b: c\n", "a: - b\n", "- a\nb: c\n", "a:\n- b\n- c\n",
    "a:\n  - b\n  -   c\n", "a: [b\n", "a: {b: c\n", "a: 'b\n", "\"a\nb\": 1\n", "a: @b\n", "a: `b\n", "a: %b\n",
    "a: b #c\n#d\n", "  a: 1\n  b: 2\n", "a:\n  b: 1\n c: 2\n", "a: |\n b\n c: 1\n",
    "k: v\r\nw: x\r\n", "k: v\rw: x\r",
    # more syntax: indentation, compact forms, comments, line ends, keys
    "a:\n  - b: 1\n    c: 2\n  - d\n", "- - a\n  - b\n- c\n", "a:\n    b: 1\n    c:\n        d: 2\n", "a  : 1\n",
    "'a: b': 1\n", "\"a #b\": 1\n", "a: b # c: d\n", "# c\na: # c\n  # c\n  b: 1 # c\n# c\n", "a: 'x\n\n\n  y'\n",
    "a: >+\n  x\n\n", "a: |1\n  x\n", "a:\n  b\n  c\n", "a: b\n  c: d\n", "--- a\n", "--- {a: 1}\n", "a: {b: [c, {d: e}]}\n",
    "a: [b,\n  c]\n", "a: {b: c,\n  d: e}\n", "a: [b, c]  # c\n", "? a\n: b\n", "? |\n  a\n: b\n", "a: !!str\n  12\n",
    "&a a: b\n*a : c\n", "a: &x\n  b: 1\nc: *x\n", "a:\r\n  b: 1\r\n  c: [d, e]\r\n", "a: \"x\r\n  y\"\r\n",
    "v: \"a\u2028  b\"\n", "v: \"a\u2029b\"\n", "v: \"a\\\n\n  b\"\n", "v: 'a''b''c'\n", "v: \"\\x85\"\n",
    "v: 'a' 'b'\n", "v: \"a\" b\n", "a: b: c: d\n", "a: -1\n", "a: - 1\n", "a:\n- 1\n-\n  - 2\n",
    "v: \"a\nb\"\n", "v: 'a\nb'\n", "v: [a,\nb]\n", "http:\n  bind_addresses: ['127.0.0.1',\n  '::1']\n",
    "http:\n  proxy: \"http://proxy.example.org\n  :8080\"\n", "http:\n  bind_addresses: ['127.0.0.1',\n    '::1']\n",
    "bind_addresses: ['0.0.0.0', '::']\n", "bind_addresses: [0.0.0.0, ::]\n", "port: 05000\n", "port: 5_000\n",
    "key_id: 0123456789\nteam_id: 1234567890\ntopic: 2001-12-14\n", "project_id: 123456789012\n",
    "a" * 1100 + ": 1\n", "v: " + "x" * 5000 + "\n",
    # a sygnal.yaml in full, in flow style
    "{log: {setup: {version: 1}}, http: {bind_addresses: ['127.0.0.1'], port: 5000}, apps: {a: {type: apns, keyfile: k.p8, key_id: 0123456789, team_id: T}}}\n",
]


def json_key(key):
    """A mapping key as Python's json module writes it (dates as isoformat())."""
    if isinstance(key, str):
        return key
    if key is True:
        return "true"
    if key is False:
        return "false"
    if key is None:
        return "null"
    if isinstance(key, int):
        return str(key)
    if isinstance(key, float):
        if math.isnan(key):
            return "NaN"
        if math.isinf(key):
            return "Infinity" if key > 0 else "-Infinity"
        return repr(key)
    if isinstance(key, (datetime.date, datetime.datetime)):
        return key.isoformat()
    raise TypeError(f"unexpected key {key!r}")


def encode(value, seen=()):
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value if abs(value) <= MAX_SAFE_INTEGER else {"$int": str(value)}
    if isinstance(value, float):
        if math.isnan(value):
            return {"$float": "nan"}
        if math.isinf(value):
            return {"$float": "inf" if value > 0 else "-inf"}
        return value
    if isinstance(value, (datetime.date, datetime.datetime)):
        return {"$timestamp": value.isoformat()}
    if isinstance(value, bytes):
        return {"$binary": base64.b64encode(value).decode("ascii")}
    if id(value) in seen:
        raise ValueError("a recursive structure")
    seen = (*seen, id(value))
    if isinstance(value, (set, frozenset)):
        return {"$set": sorted((encode(v, seen) for v in value), key=json.dumps)}
    if isinstance(value, list):
        if value and all(isinstance(v, tuple) for v in value):
            return {"$pairs": [[encode(k, seen), encode(v, seen)] for k, v in value]}
        return [encode(v, seen) for v in value]
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            name = json_key(k)
            out.pop(name, None)  # the later key wins, and is placed last
            out[name] = encode(v, seen)
        return out
    raise TypeError(f"unexpected value {value!r}")


def row(document):
    try:
        data = yaml.safe_load(document)
    except Exception as error:  # PyYAML's own errors, and the ValueErrors of its constructors
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
        return {"yaml": document, "error": f"{type(error).__name__}: {first_line}"}
    return {"yaml": document, "data": encode(data)}


def scalar_documents(form):
    yield f"v: {form}\n"
    if form:
        yield f"{form}: v\n"
    yield f"v: [{form}]\n"
    if not any(c in form for c in "'\"\\"):
        yield f"v: '{form}'\n"
        yield f'v: "{form}"\n'


def main():
    # dict.fromkeys: each document once, in the order listed (some forms give the same document, such as Y and y's
    # capitals, or a scalar's value row and a document above).
    with open(os.path.join(HERE, "..", "test", "config", "sygnal-sample-shape.yaml"), encoding="utf-8") as sample:
        files = [sample.read()]
    documents = list(dict.fromkeys([d for form in SCALARS for d in scalar_documents(form)] + DOCUMENTS + files))
    table = {
        "generator": "scripts/pyyaml-expectations.py",
        "pyyaml": yaml.__version__,
        "rows": [row(d) for d in documents],
    }
    path = os.path.join(HERE, "..", "test", "config", "pyyaml-expectations.json")
    with open(path, "w", encoding="utf-8") as out:
        out.write("{\n")
        out.write(f'  "generator": {json.dumps(table["generator"])},\n')
        out.write(f'  "pyyaml": {json.dumps(table["pyyaml"])},\n')
        out.write('  "rows": [\n')
        out.write(",\n".join("    " + json.dumps(r, ensure_ascii=True) for r in table["rows"]))
        out.write("\n  ]\n}\n")
    print(f"{path}: {len(table['rows'])} rows (PyYAML {yaml.__version__})")


if __name__ == "__main__":
    main()
