"""``python -m handoffq.services serve-agent|compose ...``."""

from handoffq.services.cli import main

main()
