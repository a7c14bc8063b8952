"""Helpers shared by test folders: real server processes on loopback."""
