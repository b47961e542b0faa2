"""Git commits linked to sessions: found with the ``git`` command line in each session's working directory,
during the session's time window, on its branch; with the cost of the work behind each commit and branch."""
