"""`python -m themisgate` is the `themisgate` command."""

from .cli import main

main()
