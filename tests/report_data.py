"""What the exports and report.html hold, decoded independently of heapmark
(imported by the tests; not a test module)."""

import gzip
import json
import re


def varint(buf, i):
    value = shift = 0
    while True:
        byte = buf[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, i


def fields(buf):
    """(field number, value) of a protobuf message: ints for varints, bytes else."""
    i = 0
    while i < len(buf):
        key, i = varint(buf, i)
        if key & 7 == 0:
            value, i = varint(buf, i)
        elif key & 7 == 2:
            n, i = varint(buf, i)
            value, i = buf[i : i + n], i + n
        else:
            raise AssertionError("unexpected wire type %d" % (key & 7))
        yield key >> 3, value


def packed(buf):
    values, i = [], 0
    while i < len(buf):
        v, i = varint(buf, i)
        values.append(v)
    return values


def decode_pprof(path):
    """The parts of profile.proto the test checks, decoded independently."""
    data = gzip.decompress(path.read_bytes())
    top = list(fields(data))
    strings = [v.decode() for f, v in top if f == 6]
    sample_types = [tuple(strings[x] for _, x in fields(v)) for f, v in top if f == 1]
    functions = {}
    for f, v in top:
        if f == 5:
            fn = dict(fields(v))
            functions[fn[1]] = (strings[fn.get(2, 0)], strings[fn.get(4, 0)])
    locations = {}
    for f, v in top:
        if f == 4:
            loc = dict(fields(v))
            line = dict(fields(loc[4]))
            locations[loc[1]] = functions[line[1]] + (line.get(2, 0),)
    samples = []
    for f, v in top:
        if f == 2:
            ids, values = [], []
            for sf, sv in fields(v):
                (ids if sf == 1 else values).extend(packed(sv) if isinstance(sv, bytes) else [sv])
            samples.append(([locations[i] for i in ids], values))
    scalars = {f: v for f, v in top if f in (9, 10, 12, 14)}
    comments = [strings[v] for f, v in top if f == 13]
    return strings, sample_types, samples, scalars, comments


def page_data(path):
    """The JSON report.html embeds."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    m = re.search(r'<script type="application/json" id="heapmark-data">(.*?)</script>', text, re.S)
    assert m, "no data in %s" % path
    return json.loads(m.group(1), parse_constant=lambda c: _fail("JSON constant " + c))


def _fail(message):
    raise AssertionError(message)


def page_stacks(data, snapshot="peak"):
    """report.html's call tree as {(function, ...) root first: node index}."""
    tree, strings = data["tree"], data["strings"]
    names = [strings[f[0]] for f in data["frames"]]
    paths = [()]
    for i in range(1, len(tree["parent"])):
        parent = i - tree["parent"][i]
        frame = tree["frame"][i]
        paths.append(paths[parent] + ((names[frame],) if frame >= 0 else ("[other]",)))
    return {path: i for i, path in enumerate(paths)}
