"""Time in the graph: sync runs, versions of what sources state, as-of views, drift.

- `versions`: which changes to a source's statement matter (start a new version).
- `statements`: a statement in force over an interval, and the as-of views built
  from them (what both stores hand over: current rows plus superseded versions).
- `asof`: a read-only Store answering from the graph as it stood at a time.
- `drift`: what changed between two runs or times.
- `sync`: recording an ingest as one sync run and naming what it changed.
"""
