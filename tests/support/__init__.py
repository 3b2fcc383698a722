"""Helpers shared by the test suite: live Toolpress stacks on real processes."""
