"""Judging a receiver: the conformance checks, their runner and JUnit output."""
