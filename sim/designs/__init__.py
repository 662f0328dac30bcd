"""The designs under test, one folder each: builder/runner modules, their cocotb testbenches
(``tb_*.py``) and their SystemVerilog / C++ testbench sources (``tb/``).

    fp/     the FP32 units: stream testbench, soak, the behavioural (DPI-C) PE
    accel/  one accelerator: GEMM runs, memory-image layout, raw Verilator harness
    mem/    the simulation DRAM model and the AXI protocol checker
    soc/    the whole SoC: builds, host driver, DRAM layout, phase / AXI / CSR testbenches
"""
