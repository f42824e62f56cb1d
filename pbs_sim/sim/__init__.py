"""The discrete-event simulator (SimPy) of a Dynamo-style store.

Modules: ``ring`` (consistent hashing, preference lists), ``network`` (latency by message kind, drop
hooks, observed-delay samples), ``node`` (stored versions, crash/recover/wipe), ``versioning`` (per-key
sequence, the versioning policy -- LWW first -- and session causal contexts), ``coordinator`` (quorum writes/reads, timeouts, read hooks), ``workload`` (open,
closed, pbs-probe), ``build`` (wiring only: ``build(scenario, streams) -> Model``; ``Model.run()``).
Mechanisms (``faults``, ``repair``, ``anti_entropy``, ``clocks``, ``causality``) implement
``pbs_sim.sim.mechanism.Mechanism`` and are listed in ``pbs_sim.mechanisms``.
Must not import metrics, sweeps or plotting: the simulator produces a History; metrics read it.
"""
