"""Learning: estimators, the IC-Q agent, step sizes, exploration and the TD target."""
