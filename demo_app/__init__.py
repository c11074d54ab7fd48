"""The arsdk live camera app: `python -m demo_app --effect flood`."""
