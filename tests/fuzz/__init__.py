"""The fuzz tier: hostile clients against the real API, asserting it never answers 5xx.

What it is. A property-based attack (hypothesis, seeded and derandomized, so every CI run sends
the same requests) on every write and list endpoint of the five OpenStack services -- identity
``/identity/v3``, compute ``/compute/v2.1``, network ``/network/v2.0``, image ``/image/v2`` and
volume ``/volume/v3/<project>`` -- read from the app's own Starlette routes, so an endpoint added
tomorrow is attacked tomorrow. Each request is a valid example body from ``examples`` (one table
of what each resource accepts) or a hostile mutation of it: deep nesting, lone surrogates,
``1e999``/``NaN``/``-Infinity``, integers of 2**63 and beyond, wrong JSON types, empty and huge
strings, bytes that are not UTF-8 in bodies and headers, wrong Content-Types, bad filters, sort
keys, limits and markers, ids that do not exist -- sent as admin, member, reader and without a
token.

What it asserts, per request: no 5xx; an error body in the service's own fault format; a rejected
write (any 4xx to POST/PUT/PATCH/DELETE) committed nothing to the database. After the run: the
server still answers and its memory stayed bounded. Findings are collected over the whole run
(not stopped at the first) and listed, one line per endpoint and kind, with the server's
traceback, so one run shows everything that is broken.

How it runs. The real app (``sausage.api.app.build``) under uvicorn in its own process on
loopback (``server``), with SQLite in a temporary state dir, no agent and no VM (one host is
registered over the internal API and the harness writes its reports, so servers go ACTIVE and
volumes available): what a client sees over HTTP, and a process whose RSS can be read.
``FUZZ_REQUESTS`` sets the budget (16,000 by default, two to three minutes on two busy cores);
``make fuzz`` runs a longer one, and ``FUZZ_SEED=n`` a different (still repeatable) one. The
summary line prints the number of requests, the time and the status histogram.
"""
