"""``python -m s2p_lab.bench``: the same as ``s2p bench``, and the entry of its child processes."""

from .command import main

raise SystemExit(main())
