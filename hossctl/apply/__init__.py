"""Carrying out a plan: the executor and the preconditions it re-checks just before each write."""
