"""The simulation DRAM model (mem_model, tb/axi_mem_model.sv) and the AXI protocol checker (tb/axi_checker.sv)."""
