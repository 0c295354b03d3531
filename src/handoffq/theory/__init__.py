"""Theory tools for finite models: oracle, exact evaluation, AIS gap, mixing."""
