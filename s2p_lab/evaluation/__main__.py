"""``python -m s2p_lab.evaluation``: the ``s2p eval`` command on its own."""

from .command import main

raise SystemExit(main())
