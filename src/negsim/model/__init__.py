"""The Mesa model: actors, leaders, regions, events, fighting, beliefs, coalition, negotiation.

Knows nothing of YAML, CSV or the command line.
"""
