"""FP32 units: stream builds and runs (fp_units), soak, the behavioural PE (fp_behavioural)."""
