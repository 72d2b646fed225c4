#!/usr/bin/env python3
"""Load test for a running `zkinfer serve`: N concurrent completions, then every proof to `done`.

Usage: python3 scripts/serve_load.py BASE_URL [N] [MAX_TOKENS] [--verify ZKINFER_BIN]

Sends N `POST /v1/completions` at once ("Request number i", greedy), records each completion's
latency (request -> answer carrying a proof id), polls every proof until `done` and records its
proof latency (answer -> `done`, i.e. queueing + proving), checks that every job ran exactly once
(`attempts == 1`), and with `--verify` downloads each proof and the key and runs `zkinfer verify`.
Prints p50/p95 of both latencies as JSON. Standard library only.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request


def call(url, body=None):
    req = urllib.request.Request(url, data=None if body is None else json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=600) as r:
        return r.read()


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(p / 100 * len(xs) + 0.5) - 1))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("base_url")
    ap.add_argument("n", type=int, nargs="?", default=20)
    ap.add_argument("max_tokens", type=int, nargs="?", default=4)
    ap.add_argument("--verify", metavar="ZKINFER_BIN")
    a = ap.parse_args()
    base = a.base_url.rstrip("/")
    results = [None] * a.n

    def one(i):
        t0 = time.time()
        v = json.loads(call(base + "/v1/completions", {"prompt": f"Request number {i}", "max_tokens": a.max_tokens}))
        results[i] = (t0, time.time(), v["zkinfer"]["proof_id"])

    start = time.time()
    threads = [threading.Thread(target=one, args=(i,)) for i in range(a.n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if any(r is None for r in results):
        sys.exit("a request failed")
    answered = time.time() - start
    done_at = {}
    pending = {r[2] for r in results}
    while pending:
        for pid in list(pending):
            s = json.loads(call(f"{base}/v1/proofs/{pid}"))
            if s["state"] == "failed":
                sys.exit(f"proof {pid} failed: {s}")
            if s["state"] == "done":
                if s.get("attempts", 1) != 1:
                    sys.exit(f"proof {pid} ran {s['attempts']} times")
                done_at[pid] = time.time()
                pending.discard(pid)
        time.sleep(0.1)
    all_done = time.time() - start
    verified = 0
    if a.verify:
        with tempfile.TemporaryDirectory() as d:
            open(os.path.join(d, "vk.bin"), "wb").write(call(base + "/v1/vk"))
            open(os.path.join(d, "setup-proof.bin"), "wb").write(call(base + "/v1/vk/setup-proof"))
            for _, _, pid in results:
                p = os.path.join(d, pid + ".bin")
                open(p, "wb").write(call(f"{base}/v1/proofs/{pid}/proof"))
                subprocess.run([a.verify, "verify", "--vk", d, p], check=True, capture_output=True)
                verified += 1
    completion = [t1 - t0 for t0, t1, _ in results]
    proof = [done_at[pid] - t1 for _, t1, pid in results]
    print(json.dumps({
        "requests": a.n, "answered_s": round(answered, 2), "all_proofs_done_s": round(all_done, 2),
        "completion_ms": {"p50": round(pct(completion, 50) * 1000), "p95": round(pct(completion, 95) * 1000)},
        "proof_s": {"p50": round(pct(proof, 50), 2), "p95": round(pct(proof, 95), 2),
                    "mean": round(statistics.mean(proof), 2)},
        "verified": verified,
    }))


if __name__ == "__main__":
    main()
