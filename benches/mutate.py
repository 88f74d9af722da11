"""Night 2 of the incremental benchmark (benches/incremental.sh): reads night 1's
NDJSON and writes a zip like Braze's (5,000 users an entry) in which 2 % of the users
changed one field each (email, a custom attribute, a purchase's count, in turn), 1 %
are gone and 1,000 are new. Deterministic."""

import json
import sys
import zipfile

source, target = sys.argv[1], sys.argv[2]
entry, lines, n = 0, [], 0


def flush(z):
    global entry, lines
    if lines:
        z.writestr(f"{entry:05}.txt", "".join(lines))
        entry, lines = entry + 1, []


with open(source, encoding="utf-8") as f, zipfile.ZipFile(
    target, "w", zipfile.ZIP_DEFLATED, compresslevel=6
) as z:
    first = []
    for i, line in enumerate(f):
        if i % 100 == 7:
            continue
        if i % 50 == 3:
            user = json.loads(line)
            kind = (i // 50) % 3
            if kind == 0:
                user["email"] = f"changed{i}@example.com"
            elif kind == 1:
                user.setdefault("custom_attributes", {})["nightly"] = i
            else:
                purchases = user.get("purchases") or [{"name": "new", "count": 0}]
                purchases[0]["count"] = purchases[0].get("count", 0) + 1
                user["purchases"] = purchases
            line = json.dumps(user, ensure_ascii=False, separators=(",", ":")) + "\n"
        if len(first) < 1000:
            first.append(line)
        lines.append(line)
        n += 1
        if len(lines) == 5000:
            flush(z)
    for j, line in enumerate(first):
        user = json.loads(line)
        user["braze_id"] = f"added{j:019}"
        lines.append(json.dumps(user, ensure_ascii=False, separators=(",", ":")) + "\n")
    flush(z)
