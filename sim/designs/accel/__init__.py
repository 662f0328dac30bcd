"""One accelerator: GEMM runs (accel), memory-image layout (accel_layout), raw Verilator harness."""
