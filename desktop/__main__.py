"""``python -m desktop``: the CLI, except Claude Code's hot paths, which are dispatched before click is imported.

``python -m desktop statusline`` and ``python -m desktop hook`` are what ``devhelion statusline|hooks install``
write into Claude Code's settings: they run on every render and hook event, so they skip the CLI's imports.
"""

import sys

from desktop.fast_entry import dispatch

if not dispatch(sys.argv[1:]):
    from desktop.cli import main

    main()
