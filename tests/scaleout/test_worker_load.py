"""A worker's threads loading the same user plugin at once all get its type, whole."""

from __future__ import annotations

import pickle
import sys
import textwrap
import threading

from engine.dask_worker import _load

SOURCE = textwrap.dedent('''
    import time

    from engine.nodetype import NodeType, Port

    time.sleep(0.3)  # a slow import: the other threads' tasks arrive meanwhile


    class Slow(NodeType):
        type_id = "user.slow_import"
        outputs = (Port("out"),)

        def run(self, ctx, **inputs):
            return {"out": 1}
''')


def test_tasks_side_by_side_on_a_worker_all_get_the_plugin_type(tmp_path):
    name = "flowloom_user_nodes.slow_import_test"
    task = {"source": (name, str(tmp_path / "slow.py"), SOURCE), "module": name,
            "class": "Slow", "params": {}, "node_id": "n", "type_id": "user.slow_import"}
    got: list[object] = []

    def load() -> None:
        try:
            got.append(type(_load(pickle.loads(pickle.dumps(task)), "test")).__name__)
        except Exception as exc:  # noqa: BLE001 - what a task would have reported
            got.append(exc)

    threads = [threading.Thread(target=load) for _ in range(4)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert got == ["Slow"] * 4
    finally:
        sys.modules.pop(name, None)
