#!/usr/bin/env python3
"""Writes the seed corpora (corpus/TARGET/seed-*) from ../fixtures: the archives made
by real writers, their lines, and the --select / --where examples of the README.

Inputs the fuzzers add (hash-named files) and regression inputs (regress-*) are kept
beside the seeds; this script rewrites only seed-* files. Run it from anywhere."""
import os, pathlib

here = pathlib.Path(__file__).resolve().parent
fixtures = here.parent / "fixtures"

def write(target, name, data):
    d = here / "corpus" / target
    d.mkdir(parents=True, exist_ok=True)
    (d / f"seed-{name}").write_bytes(data)

lines = []
for src in sorted((fixtures / "source").glob("*.txt")):
    lines += [l for l in src.read_bytes().split(b"\n") if l.strip()]

for path in sorted(fixtures.glob("*.zip")):
    data = path.read_bytes()
    write("zip_stream", path.stem, bytes([len(data) % 251]) + data)
    write("central_directory", path.stem, data)
for path in sorted(fixtures.glob("*.gz")):
    data = path.read_bytes()
    write("gzip", path.stem, bytes([len(data) % 251]) + data)
import gzip as gz
for i, src in enumerate(sorted((fixtures / "source").glob("*.txt"))):
    member = gz.compress(src.read_bytes(), compresslevel=1 + 4 * i, mtime=0)
    write("gzip", f"python-{src.stem}", bytes([i + 1]) + member + (b"\0" * 8 if i == 1 else b""))
for i, src in enumerate(sorted((fixtures / "source").glob("*.txt"))):
    data = src.read_bytes()[:3000]
    # block size, line limit, chunking seed, then the bytes
    write("framer", src.stem, bytes([17 + i, 100 + i, 3 * i + 1]) + data)
write("framer", "long-line", bytes([3, 5, 9]) + b"ab\ncdefghijkl\nm")
write("framer", "crlf-blank", bytes([1, 127, 2]) + b"a\r\n\r\n\nb")

# pass_through: block size, line limit and a knob byte (--jobs, --on-error, the
# pre-check, --where, read size), then users with odd lines among them.
odd = [b"", b"  ", b'{"a":1}\r', b'{"n":', b'{"country":"US","n":2}', b'{"x":"a"}',
       b'{"x":"b","country":"FR","n":0}']
for i in range(8):
    body = []
    for j, line in enumerate(lines[i:i + 5]):
        body += [line, odd[(i + j) % len(odd)]]
    knobs = (i * 37) % 256 | (2 if i < 6 else 0)
    tail = b"" if i % 2 else b"\n"
    write("pass_through", f"users-{i}", bytes([1 + i * 5, 20 + i * 20, knobs]) + b"\n".join(body) + tail)
write("pass_through", "one-block", bytes([255, 255, 0b0000_0010]) + b"\n".join(lines[:3]) + b"\n")

bad = [b'{"a":1', b'{"a":01}', b'{"a":"\\ud800"}', b'{"a":1}x', b'[1,2]', b'{"a":tru}',
       b'{"a":"\x01"}', b'{"a":1e400}', b'{"a":-}', b'{"a":[1,]}', b'  {"a":{}}  ']
for i, line in enumerate(lines):
    write("json_line", f"user-{i:02}", line)
    write("typed", f"user-{i:02}", line)
for i, line in enumerate(bad):
    write("json_line", f"edge-{i:02}", line)
for i, text in enumerate([
        b'{"external_id":"u1","dob":"1990-13-45","created_at":"2024-02-30T25:00:00Z"}',
        b'{"random_bucket":12345678901234567890,"total_revenue":"x","last_coordinates":[1,"a"]}',
        b'{"purchases":[{"name":"a","first":"2024-01-01","count":1.5}],"devices":{"model":1}}',
        b'{"custom_attributes":{"$time":"x"},"apps":[null,{"sessions":-1}],"push_tokens":[[]]}']):
    write("typed", f"edge-{i:02}", text)

# parquet_writer: a knob byte (codec, block and row group sizes, plan), then NDJSON.
for i in range(0, len(lines), 4):
    knobs = (i * 37) % 256
    write("parquet_writer", f"users-{i:02}", bytes([knobs]) + b"\n".join(lines[i:i + 6]))
write("parquet_writer", "every-type", bytes([0x80 | 0x1d]) + b"\n".join([
    b'{"external_id":"a","custom_attributes":{"n":1,"f":-0.0,"b":true,"d":"2024-02-01","t":"2024-02-01T10:00:00Z","lists":[[1,2],[],null,[3]]},"purchases":[{"name":"p"},{"name":null}],"apps":[{"name":"x","sessions":3}]}',
    b'{"external_id":null,"custom_attributes":{"lists":[null,[null,4]]},"purchases":[]}',
    b'{}',
    b'{"external_id":"b","custom_attributes":{"n":"x"}}',
    b'{"external_id":"c","custom_attributes":{"f":0.0,"b":false,"lists":[]},"purchases":null,"apps":[]}']))

selects = ["external_id,email,country",
           'id=external_id,purchases[].name',
           'external_id,email,rev=total_revenue,purchases[].name,custom_attributes."a.b",custom_attributes.big',
           "plan=custom_attributes.plan:string,ltv=custom_attributes.lifetime_value:float",
           "apps[].last_used,canvases_received[].steps_received[].name",
           'custom_attributes."quote\\"key",x..y', "a=,b", "custom_attributes.\"emoji_key_\U0001F600\""]
for i, s in enumerate(selects):
    write("select", f"{i:02}", s.encode())
wheres = ['country == "US" and total_revenue > 0',
          'custom_attributes.plan in ["pro", "enterprise"] and apps[].last_used > ago(7d)',
          'purchases[].name == "sku_pro" and not (email endswith "@example.com")',
          'exists(phone) || custom_attributes.favorite_tags contains "tech"',
          'email ~ "\\\\.com$" or first_name startswith "Zo"',
          'custom_attributes."a.b" == 12345678901234567891 and total_revenue >= 1.5e2',
          'not (country != "JP") and dob >= "2000-01-01"',
          '(custom_attributes.vip) and created_at > ago(36h) or random_bucket < 100']
for i, w in enumerate(wheres):
    write("where", f"{i:02}", w.encode())
