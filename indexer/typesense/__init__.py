"""The Typesense index format: a collection on a Typesense cluster that holds what the
embedded index holds, in our own analysis (`documents`), written incrementally
(`writer`), reached through every node of a cluster (`connection`); `cluster` starts a
loopback cluster for development, tests and demos.

Typesense is an optional extra (``pip install -e '.[typesense]'``): nothing here is
imported unless a ``typesense://`` backend is asked for."""
