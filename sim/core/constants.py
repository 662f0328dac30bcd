"""Figures the whole toolkit shares: the clock, the DRAM's peak rate and the paper's results.

The paper (Partition Pruning, Shahhosseini et al.) ran 32x32 FP32 arrays at
200 MHz with DDR3-1600 x64, whose 12.8 GB/s peak is 64 bytes per 200 MHz
cycle; for TinyVGG16's FC layers at P = 3 it measured a 7.72x speedup and
2.73x less energy.
"""

CLOCK_HZ = 200e6                 # the accelerator clock
CLOCK_NS = 5                     # its period
DRAM_BYTES_PER_CYCLE = 64        # DDR3-1600 x64 peak: 12.8 GB/s / 200 MHz, one 512-bit beat a cycle
PAPER_SPEEDUP_P3 = 7.72
PAPER_ENERGY_RATIO_P3 = 2.73
