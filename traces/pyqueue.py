# traces/pyqueue.py — the program recorded into traces/pyqueue.trace (see README.md):
# two producer threads build small records (a dict, a list, a str, a bytes) and
# hand them through a queue to two consumer threads, which read and drop them, so
# most records are allocated on one thread and freed on another. Deterministic
# work (fixed LCG seeds); the interleaving of the threads is the scheduler's.
import queue
import sys
import threading

N = int(sys.argv[1]) if len(sys.argv) > 1 else 2500
q = queue.Queue(maxsize=64)


def produce(n, seed):
    x = seed
    for i in range(n):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        q.put({"id": i, "name": "item%d" % x, "vals": [x % 97, x % 89, str(x)], "pad": bytes(32 + x % 400)})
    q.put(None)


def consume(out):
    total = 0
    while True:
        item = q.get()
        if item is None:
            break
        total += len(item["name"]) + sum(v for v in item["vals"] if isinstance(v, int)) + len(item["pad"])
    out.append(total)


res = []
threads = [threading.Thread(target=produce, args=(N, s)) for s in (1, 2)]
threads += [threading.Thread(target=consume, args=(res,)) for _ in range(2)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(sum(res))
