"""``python -m pbs_sim`` is the ``pbs-sim`` command."""

from .cli import main

if __name__ == "__main__":
    main()
