# traces/pyjson.py — a second threaded python3 program (docs/benchmarks.md; its trace
# is not shipped, record it with the command in traces/README.md): a pool of three
# worker threads each builds a small document (a dict of lists of strs and floats),
# encodes it to JSON and decodes it back, N documents in all. Unlike pyqueue.py,
# nearly every block is freed by the thread that allocated it (1.4% remote frees).
# Prints a checksum (the same under every allocator).
import json
import sys
from concurrent.futures import ThreadPoolExecutor

N = int(sys.argv[1]) if len(sys.argv) > 1 else 4000


def work(k):
    doc = {"id": k, "tags": ["t%d" % (k * 7 + j) for j in range(20)], "vals": [k * 0.5 + j for j in range(30)]}
    s = json.dumps(doc)
    back = json.loads(s)
    return len(s) + len(back["tags"])


with ThreadPoolExecutor(max_workers=3) as ex:
    print(sum(ex.map(work, range(N))))
