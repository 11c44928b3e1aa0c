"""Run records: what a run saw, kept so it can be replayed, re-used and compared.

    codec.py   values <-> canonical bytes, and their sha256 (blobs are content-addressed)
    tap.py     recording one run: a recording httpx transport, the clock and random draws of
               the node context, approvals, and every node execution's inputs and outputs
    serve.py   serving effects from a record (replay, --live-from, re-use)
    store.py   the record tables of the history database: write, read, size policy, pruning
    wires.py   the values that reached each node execution, found from the recorded outputs
    keys.py    a node execution's cache key (type, version, params, settings, input hashes)
    reuse.py   `--reuse-from`: which nodes reuse, run, or resend
    replay.py  `flowloom replay`: a Run rebuilt from a record
engine/rundiff.py compares two recorded runs.
"""
