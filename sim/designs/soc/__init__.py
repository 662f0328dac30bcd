"""The whole SoC: builds (soc, soc_tb), host driver (soc_driver), DRAM layout (soc_layout)."""
