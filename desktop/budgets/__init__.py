"""Budget alerts in the running app: the monitor that evaluates budgets and the text of what it announces."""
