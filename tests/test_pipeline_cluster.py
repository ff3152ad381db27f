"""The local cluster's environment: workers get one thread each, the conductor keeps its own.

Dask's nanny sets OMP_NUM_THREADS=1 (and MALLOC_TRIM_THRESHOLD_) in the process that starts
the workers, which left the conductor's Arrow on one thread for assembly and the report.
Run in a child interpreter: the fork server is one per process and must start fresh.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import REPO

PROBE = """
import json, os
import pyarrow as pa

def probe():
    import os, pyarrow as pa
    return {"omp": os.environ.get("OMP_NUM_THREADS"), "trim": os.environ.get("MALLOC_TRIM_THRESHOLD_"),
            "arrow_threads": pa.cpu_count(), "ppid_is_conductor": os.getppid() == CONDUCTOR}

if __name__ == "__main__":
    from seized.cluster import BackgroundCluster
    cluster = BackgroundCluster.local(2, print)
    try:
        client = cluster.client()
        CONDUCTOR = os.getpid()
        workers = client.run(probe)
    finally:
        cluster.close()
    print(json.dumps({"workers": list(workers.values()), "omp": os.environ.get("OMP_NUM_THREADS"),
                      "trim": os.environ.get("MALLOC_TRIM_THRESHOLD_"), "arrow_threads": pa.cpu_count()}))
"""


def test_workers_run_one_thread_each_and_the_conductor_keeps_its_threads(tmp_path):
    script = tmp_path / "probe.py"
    script.write_text(PROBE)
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MALLOC_TRIM_THRESHOLD_")}
    env["PYTHONPATH"] = str(REPO)
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, env=env,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert len(seen["workers"]) == 2
    for worker in seen["workers"]:
        assert worker["omp"] == "1" and worker["arrow_threads"] == 1, worker
        assert worker["trim"] is None, worker  # glibc keeps its own mmap threshold (see seized.cluster)
        assert not worker["ppid_is_conductor"], worker  # forked from the fork server
    assert seen["omp"] is None and seen["trim"] is None, seen
    assert seen["arrow_threads"] == (os.cpu_count() or 1), seen
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
